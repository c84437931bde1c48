# Managed by podkit (role base) for {{fqdn}}. Edit the stack file (banning), not this file.
#
# Counts failed logins per client address in the journal and says when one must
# be banned. Reads `journalctl -o short-unix` lines ("<epoch>.<usec> <ident>[pid]:
# <message>"), prints one line per ban:
#     ban <4|6> <address> <seconds> <failures> failures within <seconds>s (<service>)
# and nothing else; /usr/local/sbin/podkit-ban adds the address to the nftables set.
# Variables (-v): failures, within and banfor (seconds), never (CIDRs never banned,
# space-separated). Time is the journal's own time of each line, so replaying
# the last `within` seconds after a restart counts as the live run did.
#
# The lines it knows, from each daemon's own format strings:
#  - Postfix (smtpd_sasl_glue.c), submission on 587 and 465:
#      warning: <name>[<addr>]: SASL <mech> authentication failed: <reason>, sasl_username=<login>
#  - Dovecot 2.3 login processes (imap-login, managesieve-login):
#      Disconnected (auth failed, <n> attempts in <s> secs): user=<...>, method=..., rip=<addr>, lip=...
#    Dovecot 2.4:
#      Login aborted: <why> (auth failed, <n> attempts in <s> secs) (auth_failed): user=<...>, ..., rip=<addr>, ...
#  - Prosody, through podkit's mod_podkit_auth_log (role xmpp):
#      <session>: Failed authentication attempt from IP: <addr> (<condition>)
# Text a client chooses (a login name) never decides the address: the address is
# taken from where the daemon puts it, before (Postfix) or after (Dovecot's last
# rip=) anything a client sent.

BEGIN {
    failures += 0; within += 0; banfor += 0
    if (failures < 1 || within < 1 || banfor < 1) { print "podkit-ban: failures, within and banfor must be positive" > "/dev/stderr"; exit 2 }
    nnever = split(never, nets, " ")
    HEX = "0123456789abcdef"
    events = 0
}

{
    # The stamp is kept as the journal wrote it: a number turned back into text
    # goes through CONVFMT ("%.6g"), which rounds today's epoch seconds to ten
    # thousands and would push most failures out of the window.
    t = $1 + 0; stamp = $1
    addr = ""; n = 1; service = ""
    if (match($0, /warning: [^ ]*\[[0-9A-Fa-f:.]+\]: SASL [A-Za-z0-9_-]+ authentication failed/)) {
        m = substr($0, RSTART, RLENGTH)
        addr = substr(m, index(m, "[") + 1)
        addr = substr(addr, 1, index(addr, "]") - 1)
        service = "SMTP AUTH"
    } else if (match($0, /(imap|managesieve|pop3|submission)-login: /)) {
        service = substr($0, RSTART, RLENGTH - 8)
        rest = substr($0, RSTART + RLENGTH)
        # Only the reason, before any element a client chose (user=<...>).
        head = rest
        cut = index(head, ": user=<"); if (cut) head = substr(head, 1, cut - 1)
        cut = index(head, "rip="); if (cut) head = substr(head, 1, cut - 1)
        if (!match(head, /\(auth failed, [0-9]+ attempts/)) next
        n = substr(head, RSTART + 14, RLENGTH - 23) + 0
        # The last rip= of the line: the one Dovecot wrote after the user name.
        while (match(rest, /rip=[0-9A-Fa-f:.]+/)) {
            addr = substr(rest, RSTART + 4, RLENGTH - 4)
            rest = substr(rest, RSTART + RLENGTH)
        }
        service = service " login"
    } else if (match($0, /^[0-9.]+ [^ ]+: [^ ]+: Failed authentication attempt from IP: [0-9A-Fa-f:.]+/)) {
        m = substr($0, RSTART, RLENGTH)
        addr = substr(m, index(m, "from IP: ") + 9)
        service = "XMPP"
    } else next

    addr = tolower(addr)
    if (addr ~ /^::ffff:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) addr = substr(addr, 8)
    if (n < 1) n = 1
    if (n > failures) n = failures
    family = v4(addr) ? 4 : (v6(addr) ? 6 : 0)
    if (!family || spared(addr, family)) next

    count = keep(addr, t)
    for (i = 0; i < n; i++) { seen[addr] = seen[addr] " " stamp; count++ }
    if (count >= failures) {
        print "ban", family, addr, banfor, count " failures within " within "s (" service ")"
        delete seen[addr]
    }
    # Now and then forget addresses whose failures all left the window.
    if (++events % 500 == 0) for (a in seen) if (!keep(a, t)) delete seen[a]
}

# Drops an address's failures older than the window; returns how many are left.
function keep(a, now,    parts, k, i, kept) {
    if (!(a in seen)) return 0
    k = split(seen[a], parts, " ")
    kept = ""
    for (i = 1; i <= k; i++) if (parts[i] + within > now) kept = kept " " parts[i]
    seen[a] = kept
    return split(kept, parts, " ")
}

function v4(a,    o, k, i) {
    if (a !~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) return 0
    k = split(a, o, ".")
    for (i = 1; i <= 4; i++) if (o[i] + 0 > 255) return 0
    return 1
}

function v6(a) {
    return a ~ /^[0-9a-f:]+$/ && a ~ /:/ && length(a) <= 39
}

# Whether the address lies in one of the never-banned networks (the admins', loopback).
function spared(a, family,    i, net, len, slash) {
    for (i = 1; i <= nnever; i++) {
        slash = index(nets[i], "/")
        net = slash ? substr(nets[i], 1, slash - 1) : nets[i]
        if (family == 4 && v4(net)) {
            len = slash ? substr(nets[i], slash + 1) + 0 : 32
            if (inprefix(words4(a), words4(net), 2, len)) return 1
        } else if (family == 6 && v6(tolower(net))) {
            len = slash ? substr(nets[i], slash + 1) + 0 : 128
            if (inprefix(words6(a), words6(tolower(net)), 8, len)) return 1
        }
    }
    return 0
}

# An address as 16-bit words separated by spaces: IPv4 in 2, IPv6 in 8.
function words4(a,    o) {
    split(a, o, ".")
    return (o[1] * 256 + o[2]) " " (o[3] * 256 + o[4])
}

function words6(a,    halves, left, right, nl, nr, i, out, zeros) {
    if (index(a, "::")) {
        left = substr(a, 1, index(a, "::") - 1)
        right = substr(a, index(a, "::") + 2)
    } else { left = a; right = "" }
    nl = left == "" ? 0 : split(left, L, ":")
    nr = right == "" ? 0 : split(right, R, ":")
    out = ""
    for (i = 1; i <= nl; i++) out = out " " hex(L[i])
    zeros = 8 - nl - nr
    for (i = 1; i <= zeros; i++) out = out " 0"
    for (i = 1; i <= nr; i++) out = out " " hex(R[i])
    return out
}

function hex(s,    v, i) {
    v = 0
    for (i = 1; i <= length(s); i++) v = v * 16 + index(HEX, substr(s, i, 1)) - 1
    return v
}

# Whether the first `len` bits of two addresses (k words of 16 bits) agree.
function inprefix(x, y, k, len,    xs, ys, i, bits, d) {
    split(x, xs, " "); split(y, ys, " ")
    for (i = 1; i <= k && len > 0; i++) {
        bits = len > 16 ? 16 : len
        d = 2 ^ (16 - bits)
        if (int(xs[i] / d) != int(ys[i] / d)) return 0
        len -= 16
    }
    return 1
}
