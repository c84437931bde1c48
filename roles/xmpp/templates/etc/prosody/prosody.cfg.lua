-- Managed by podkit (role xmpp) for {{fqdn}}. Edit the stack file, not this file.
-- Prosody: the pod's chat, for Conversations, Monal, Gajim, Dino and any other
-- XMPP client, federated with every other XMPP server.
-- Settings: https://prosody.im/doc/configure   Check: prosodyctl check config

admins = { {{#admins}}"{{.}}"; {{/admins}}}

-- Everything a modern client expects (XEP-0479 compliance suites). The same
-- list for Prosody 0.12 (Debian 12, smacks and cloud_notify from
-- prosody-modules) and 13 (Debian 13, where both are Prosody's own).
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco";      -- the core of XMPP
	"carbons";                                 -- every device sees every message (XEP-0280)
	"mam";                                     -- server-side archive, catch up on any device (XEP-0313)
	"smacks";                                  -- stream management: mobile clients survive flaky networks (XEP-0198)
	"csi_simple";                              -- client state indication: fewer wake-ups on phones (XEP-0352)
	"pep"; "private"; "bookmarks";             -- OMEMO keys, avatars, bookmarks (XEP-0163, XEP-0402)
	"vcard4"; "vcard_legacy";                  -- profiles and avatars
	"blocklist";                               -- blocking (XEP-0191)
	"ping"; "time";                            -- keepalives
	"limits";                                  -- rate limits per connection
	"server_contact_info";                     -- who runs this server (XEP-0157)
	"turn_external";                           -- audio/video calls through coturn (XEP-0215)
	"cloud_notify";                            -- push notifications for iOS and Android (XEP-0357)
	"groups";                                  -- shared roster groups from the stack
	"admin_shell";                             -- prosodyctl shell for the admins
	"podkit_auth_log";                         -- failed logins with the client's address, for podkit-ban (role base)
	"podkit_password";                         -- members change their password from their client (XEP-0077)
}
-- podkit's own modules (mod_podkit_auth_log, mod_podkit_password, mod_auth_podkit).
plugin_paths = { "/usr/local/lib/prosody/modules" }
-- No in-band registration: accounts come from the stack only (mod_register is
-- off; mod_podkit_password answers a member's password change). No dialback:
-- servers prove who they are with certificates (s2s_secure_auth below).
modules_disabled = { "register"; "dialback"; "s2s_bidi" }

allow_registration = false
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = true

-- IPv6 (listening on "::", connecting to AAAA) only where the host has an IPv6 network.
use_ipv6 = {{#ipv6}}true{{/ipv6}}{{^ipv6}}false{{/ipv6}}

-- XEP-0368: direct TLS next to STARTTLS, for clients and servers.
c2s_direct_tls_ports = { {{ports.clientTls}} }
s2s_direct_tls_ports = { {{ports.serverTls}} }
-- HTTPS only (file upload); no plain HTTP listener.
http_ports = { }
https_ports = { {{ports.upload}} }
http_default_host = "{{uploadHost}}"

-- One certificate for every name of this host (role tls), copied where
-- Prosody, which does not run as root, can read it.
ssl = {
	certificate = "/etc/prosody/certs/pod.crt";
	key = "/etc/prosody/certs/pod.key";
}

-- The same accounts and passwords as mail (mod_auth_podkit). An account with a
-- password in the stack: its account file, hashed by podkit (SCRAM-SHA-256,
-- 600,000 rounds, salted with a key only the pod's secrets hold) and read by
-- internal_hashed as it stands. A member-owned account (listed in
-- podkit_member_accounts): the password its member set, from the file Dovecot
-- reads too (SCRAM-SHA-256 and PLAIN). podkit-member changes it (root, socket).
authentication = "podkit"
password_hash = "SHA-256"
podkit_member_accounts = "{{memberAccounts}}"
podkit_member_passwords = "{{memberPasswords}}"
podkit_member_socket = "{{memberSocket}}"
storage = "internal"

-- Archive: kept {{archiveDays}} days, on by default for every conversation.
archive_expires_after = "{{archiveDays}}d"
default_archive_policy = true
max_archive_query_results = 250

-- Members of a stack group see each other in their roster, without asking.
groups_file = "/etc/prosody/groups.txt"

-- Calls: short-lived TURN credentials from the secret coturn shares.
turn_external_host = "{{turn.host}}"
turn_external_port = {{turn.ports.turn}}
turn_external_tls_port = {{turn.ports.turnTls}}
turn_external_secret = "{{turnSecret}}"
turn_external_ttl = 86400

contact_info = {
	abuse = { "mailto:{{abuse}}" };
	admin = { "mailto:{{postmaster}}"{{#admins}}, "xmpp:{{.}}"{{/admins}} };
}

-- Logs go to the journal, kept privacy.logRetentionDays days (role base).
log = { info = "*syslog" }
pidfile = "/run/prosody/prosody.pid"
{{#options.length}}

-- chat.prosody in the stack: the operator's own global options, last before
-- the first VirtualHost (after it, an option would be that host's) so they win.
{{/options.length}}
{{#options}}
{{name}} = {{value}}
{{/options}}

{{#domains}}
VirtualHost "{{domain}}"

Component "conference.{{domain}}" "muc"
	modules_enabled = { "muc_mam" }
	name = "Group chats of {{domain}}"
	restrict_room_creation = "local"
	muc_room_default_public = false
	muc_room_default_persistent = true
	muc_log_expires_after = "{{archiveDays}}d"
	-- The pod's admins own every room (to close one that is abused): Prosody 0.12
	-- did this by default, Prosody 13 (Debian 13) only when asked.
	component_admins_as_room_owners = true

{{/domains}}
Component "{{uploadHost}}" "http_file_share"
	http_file_share_size_limit = {{uploadBytes}}
	http_file_share_expires_after = {{uploadSeconds}}
	http_file_share_access = { {{#domains}}"{{domain}}"; {{/domains}}}
	http_external_url = "https://{{uploadHost}}:{{ports.upload}}/"
