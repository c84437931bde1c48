#!/usr/bin/python3
# podkit-member's "change" request as the spec has it (docs: issue 17's contract), faked for
# Prosody's side: one JSON line in, one JSON line out, on a unix socket. It takes `delay`
# seconds first (the real daemon's PBKDF2 and doveadm take about one), checks the old
# password against the member password file, and writes the new one's
# {SCRAM-SHA-256} entry. Each request's op, address and field names go to stdout.
#
#   fake-podkit-member.py <socket> <passwords file> <delay seconds>
import base64, hashlib, hmac, json, os, socket, sys, time

path, passwords, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])


def entry(password, salt, rounds):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    return "{SCRAM-SHA-256}%d,%s,%s,%s" % (rounds, *(base64.b64encode(x).decode() for x in (salt, stored, server)))


def change(req):
    lines = open(passwords).read().splitlines()
    for i, line in enumerate(lines):
        address, _, scheme = line.partition(":")
        if address != req["address"]:
            continue
        rounds, salt = scheme.removeprefix("{SCRAM-SHA-256}").split(",")[:2]
        if entry(req["old"], base64.b64decode(salt), int(rounds)) != scheme.split(":")[0]:
            return {"ok": False, "error": "the old password is wrong"}
        lines[i] = f"{address}:{entry(req['new'], os.urandom(16), int(rounds))}"
        with open(passwords + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        st = os.stat(passwords)
        os.chown(passwords + ".tmp", st.st_uid, st.st_gid)
        os.chmod(passwords + ".tmp", 0o640)
        os.rename(passwords + ".tmp", passwords)
        return {"ok": True}
    return {"ok": False, "error": "no such member"}


server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
os.chmod(path, 0o666)
server.listen()
while True:
    conn, _ = server.accept()
    req = json.loads(conn.makefile().readline())
    print(req["op"], req.get("address"), " ".join(sorted(req)), flush=True)
    time.sleep(delay)
    conn.sendall((json.dumps(change(req)) + "\n").encode())
    conn.close()
