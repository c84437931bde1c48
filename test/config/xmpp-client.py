#!/usr/bin/python3
# A chat client just big enough to prove what a member sees, run inside a
# checker root (Python's standard library only): STARTTLS on 5222, SASL login
# with SCRAM-SHA-256 (RFC 5802/7677, as Conversations or Gajim do it) or
# PLAIN, resource binding, then iqs. Each step prints one line; the test
# compares them.
#
#   xmpp-client.py login   <jid> <password> SCRAM-SHA-256|PLAIN
#   xmpp-client.py change  <jid> <password> <new> [<old>]  XEP-0077 §3.3: plain change, then the form with <old> (default: the password)
#   xmpp-client.py ping    <jid> <password> <seconds>  pings until the time is up, prints the slowest answer
import base64, hashlib, hmac, html, os, re, socket, ssl, sys, time

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


class Stream:
    def __init__(self, domain):
        self.domain = domain
        self.sock = socket.create_connection(("127.0.0.1", 5222), timeout=30)
        self.buf = ""
        self.open()
        self.until(r"<starttls")
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.until(r"<proceed[^>]*/>")
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname=domain)
        self.buf = ""
        self.open()
        self.mechanisms = re.findall(r"<mechanism>([^<]+)</mechanism>", self.until(r"</stream:features>"))

    def open(self):
        self.send(f"<?xml version='1.0'?><stream:stream to='{self.domain}' xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")

    def send(self, text):
        self.sock.sendall(text.encode())

    def until(self, pattern):
        """Reads until `pattern` matches; returns the text up to its end and keeps the rest."""
        while True:
            m = re.search(pattern, self.buf, re.S)
            if m:
                got, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return got
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"stream closed waiting for {pattern}: {self.buf!r}")
            self.buf += data.decode()

    def sasl_result(self):
        got = self.until(r"<(success|failure)[^>]*?(/>|>.*?</\1>)")
        if "<success" in got:
            return got, None
        return got, re.search(r"<failure[^>]*>\s*<([a-z-]+)", got).group(1)

    def login(self, user, password, mechanism):
        if mechanism == "PLAIN":
            plain = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
            self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{plain}</auth>")
            return self.sasl_result()[1]
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={user},r={nonce}"
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='{mechanism}'>{base64.b64encode(f'n,,{first_bare}'.encode()).decode()}</auth>")
        got = self.until(r"<(challenge|failure)[^>]*?(/>|>.*?</\1>)")
        if "<failure" in got:
            return re.search(r"<failure[^>]*>\s*<([a-z-]+)", got).group(1)
        server_first = base64.b64decode(re.search(r">([^<]+)</challenge>", got).group(1)).decode()
        f = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(f["s"]), int(f["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        without_proof = f"c={base64.b64encode(b'n,,').decode()},r={f['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, "sha256").digest()
        proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
        self.send(f"<response xmlns='{NS_SASL}'>{base64.b64encode(f'{without_proof},p={proof}'.encode()).decode()}</response>")
        got, failure = self.sasl_result()
        if failure:
            return failure
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        final = base64.b64decode(re.search(r">([^<]+)</success>", got).group(1)).decode()
        expected = base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest()).decode()
        return None if final == f"v={expected}" else "server-signature-mismatch"

    def bind(self):
        self.buf = ""
        self.open()
        self.until(r"</stream:features>")
        return self.iq("set", "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>")

    def iq(self, kind, payload, to=None):
        ident = base64.b16encode(os.urandom(4)).decode()
        self.send(f"<iq type='{kind}' id='{ident}'{f' to={to!r}' if to else ''}>{payload}</iq>")
        return self.until(rf"<iq[^>]*id=['\"]{ident}['\"][^>]*?(/>|>.*?</iq>)")


def error_of(iq):
    m = re.search(r"<error[^>]*type=['\"]([a-z]+)['\"][^>]*>\s*<([a-z-]+)", iq)
    text = re.search(r"<text[^>]*>([^<]*)</text>", iq)
    return f"error {m.group(1)} {m.group(2)}" + (f": {html.unescape(text.group(1))}" if text else "") if m else "result"


def session(jid, password, mechanism="SCRAM-SHA-256"):
    user, domain = jid.split("@")
    s = Stream(domain)
    failure = s.login(user, password, mechanism)
    if failure:
        print(f"login {jid} {mechanism}: {failure}")
        sys.exit(0)
    s.bind()
    return s


def register_query(inner):
    return f"<query xmlns='jabber:iq:register'>{inner}</query>"


def form(fields):
    values = "".join(f"<field var='{k}'><value>{v}</value></field>" for k, v in fields.items())
    return f"<x xmlns='jabber:x:data' type='submit'>{values}</x>"


def main(mode, jid, a, b, old=None):
    user, domain = jid.split("@")
    if mode == "login":
        s = session(jid, a, b)
        print(f"login {jid} {b}: ok (offered: {' '.join(sorted(s.mechanisms))})")
    elif mode == "change":
        s = session(jid, a)
        got = s.iq("get", register_query(""))
        print("get:", "registered" if "<registered" in got else error_of(got))
        got = s.iq("set", register_query(f"<username>{user}</username><password>{b}</password>"), to=domain)
        asked = sorted(re.findall(r"<field[^>]*var=['\"]([a-z_A-Z]+)['\"]", got))
        print("plain change:", error_of(got) + (f" (form asks {' '.join(asked)})" if asked else ""))
        got = s.iq("set", register_query(form({"FORM_TYPE": "jabber:iq:register:changepassword", "username": user, "old_password": old or a, "password": b})), to=domain)
        print("form change:", error_of(got))
    elif mode == "ping":
        s = session(jid, a)
        slowest, end = 0.0, time.monotonic() + float(b)
        while time.monotonic() < end:
            started = time.monotonic()
            s.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=domain)
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
        print(f"slowest ping: {slowest:.2f} s")


if __name__ == "__main__":
    main(*sys.argv[1:6])
