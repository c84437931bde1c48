# The functions podkit's client-level health probes call (lib/converge/probes.ts
# declares the probes, lib/converge/scripts.ts sends this file before them).
# Each returns 0 when the client got what it wanted, else prints one line of
# what it saw and returns 1. Bash only, plus openssl for TLS.
# probe_tls PORT NAME STARTTLS|- SEND EXPECT: openssl as a client would be, trusting the host's CA
# bundle, asking for NAME (SNI) and verifying the certificate is valid for it.
probe_tls() {
  local port=$1 name=$2 proto=$3 send=$4 expect=$5 out said subject
  local opts=()
  [ "$proto" = - ] || opts+=(-starttls "$proto")
  [ "$proto" != xmpp ] || opts+=(-xmpphost "$name")
  # To see a greeting, read until the server closes (after SEND's goodbye); else end once the handshake is verified.
  [ -z "$expect" ] || opts+=(-ign_eof)
  out=$(printf "$send" | timeout 15 openssl s_client -connect "127.0.0.1:$port" "${opts[@]}" -servername "$name" \
    -verify_hostname "$name" -verify_return_error -CAfile /etc/ssl/certs/ca-certificates.crt -brief 2>&1)
  if [ $? -eq 0 ] && { [ -z "$expect" ] || grep -qE "$expect" <<<"$out"; }; then return 0; fi
  # What the server said in plain text to STARTTLS, when it refused it (openssl does not show it).
  if [ "$proto" = smtp ]; then said=$(smtp_starttls_reply "$port"); [ "${said:0:3}" = 220 ] || { echo "$said"; return 1; }; fi
  # An XMPP server that offers no STARTTLS: openssl stops without a word; its stream features say why.
  if [ "$proto" = xmpp ]; then said=$(xmpp_starttls_offer "$port" "$name") || { echo "$said"; return 1; }; fi
  said=$(grep -m1 -E 'verify error|:error:|errno|Didn.t find|connect:' <<<"$out")
  case $said in
    *:error:*) said=$(cut -d: -f6 <<<"$said");;
    # Whose certificate it was: a wrong one (Debian's snakeoil, another host's) shows in its subject.
    'verify error'*) subject=$(grep -m1 '^depth=0 ' <<<"$out"); [ -z "$subject" ] || said+=" (certificate ${subject#depth=0 })";;
  esac
  echo "${said:-$(tail -n1 <<<"$out" | tr -d '\r')${expect:+ (expected a line matching $expect)}}"
  return 1
}
# smtp_starttls_reply PORT: the banner, EHLO and STARTTLS in plain text; prints the last reply line.
smtp_starttls_reply() {
  local line cmd
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { echo "connection to port $1 refused"; return; }
  for cmd in "" "EHLO podkit-probe" "STARTTLS"; do
    [ -z "$cmd" ] || printf '%s\r\n' "$cmd" >&3
    while IFS= read -r -t 10 line <&3 && [ "${line:3:1}" = - ]; do :; done
    line=${line%$'\r'}
    case $line in 2*) ;; *) break;; esac
  done
  printf 'QUIT\r\n' >&3; exec 3<&-
  echo "${line:-no answer}"
}
# xmpp_starttls_offer PORT DOMAIN: opens a client stream to DOMAIN in plain text; returns 0 when the
# stream features offer STARTTLS, else prints what came instead (the features, or the stream error).
xmpp_starttls_offer() {
  local tok seen=
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { echo "connection to port $1 refused"; return 1; }
  printf "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" "$2" >&3
  while IFS= read -r -d '>' -t 5 tok <&3; do
    case $tok in *'<?xml'*|*'<stream:stream'*) continue;; esac
    seen+="$tok>"
    case $tok in *'</stream:features'|*'<stream:features/'|*'</stream:error'|*'</stream:stream'*) break;; esac
  done
  printf '</stream:stream>' >&3; exec 3<&-
  case $seen in *'<starttls'*) return 0;; esac
  seen=$(tr -d '\r\n' <<<"$seen"); [ ${#seen} -le 300 ] || seen="${seen:0:300}..."
  echo "no STARTTLS offered for $2: ${seen:-nothing within 5 s}"
  return 1
}
# probe_stun PORT: a STUN binding request (RFC 5389) must get a binding success response (0x0101).
probe_stun() {
  local r
  { exec 3<>"/dev/udp/127.0.0.1/$1"; } 2>/dev/null || { echo "cannot send to udp $1"; return 1; }
  printf '\x00\x01\x00\x00\x21\x12\xa4\x42podkitprobe!' >&3
  r=$(timeout 3 head -c 2 <&3 | od -An -tx1 | tr -d ' \n'); exec 3<&-
  [ "$r" = 0101 ] && return 0
  echo "no binding success response${r:+ (message type $r)}"; return 1
}
# probe_dns PORT: "localhost. A" over TCP must come back NOERROR (the resolver answers it itself).
probe_dns() {
  local r
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { echo "connection to port $1 refused"; return 1; }
  printf '\x00\x1b\x70\x6b\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09localhost\x00\x00\x01\x00\x01' >&3
  r=$(timeout 5 head -c 6 <&3 | od -An -tx1 | tr -d ' \n'); exec 3<&-
  # length (2 bytes), our id 706b, flags: QR set, RCODE 0.
  [ "${r:4:4}" = 706b ] && [ $((0x${r:8:2} & 0x80)) -ne 0 ] && [ $((0x${r:10:2} & 0x0f)) -eq 0 ] && return 0
  echo "no NOERROR answer${r:+ (header $r)}"; return 1
}
# probe_http PORT PATH EXPECT: a plain HTTP GET on loopback must answer with a line matching EXPECT.
probe_http() {
  local out
  # The answer is what came within 5 s, whether or not the server closed the connection.
  out=$({ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3; timeout 5 cat <&3; exit 0) \
    || { echo "connection to port $1 refused"; return 1; }
  grep -qE "$3" <<<"$out" && return 0
  echo "$(head -n1 <<<"$out" | tr -d '\r') (expected $3)"; return 1
}
