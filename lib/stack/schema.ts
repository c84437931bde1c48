// The stack file, declared once. Every field's type, default, example and
// consequence lives here; the JSON Schema (schema/stack.schema.json) and the
// reference (docs/stack-reference.md) are generated from it by `npm run schema`.
// Rules between fields (a host that must exist, an address claimed twice) are in
// ./checks.ts, because they need the whole file.
import { z } from "zod";
import {
  address, aliasAddress, cidr, domain, duration, hostKey, hostOrAddress, httpsUrl, ipv4, ipv6, login, name, port, remotePath, secretRef, size, sshPublicKey,
} from "./fields";
import { DOVECOT_VALUE, LUA_KEYWORDS, SETTING_NAME } from "./daemon-values";
import { NEWEST_RELEASE, RELEASE_CODENAMES, RELEASES } from "./releases";

/**
 * Server types Hetzner no longer creates, with what replaced them: a stack
 * naming one fails validation here rather than at the API, halfway through
 * the first `pulumi up`. (The CX gen-1 types went in 2024; cx22-cx52 gave way
 * to cx23-cx53, and the hcloud provider's examples moved to cx23.)
 */
export const RETIRED_SERVER_TYPES: Record<string, string> = {
  cx11: "cx23", cx21: "cx23", cx31: "cx33", cx41: "cx43", cx51: "cx53",
  cx22: "cx23", cx32: "cx33", cx42: "cx43", cx52: "cx53",
};

const hcloudHost = z
  .strictObject({
    serverType: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a Hetzner server type (e.g. "cx23")')
      .superRefine((t, ctx) => {
        const successor = RETIRED_SERVER_TYPES[t];
        if (successor) ctx.addIssue({ code: "custom", message: `a server type Hetzner still creates: ${t} is retired, its successor is "${successor}"` });
      })
      .default("cx23")
      .describe("Hetzner server type. cx23 (2 vCPU, 4 GB) is plenty for a pod of a few hundred accounts; changing it resizes the server (a reboot)."),
    location: z.enum(["nbg1", "fsn1", "hel1", "ash", "hil", "sin"]).default("nbg1")
      .describe("Hetzner location. Changing it replaces the server (the primary IPs stay in their location)."),
    image: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, `a Hetzner image name (e.g. "${NEWEST_RELEASE.image}")`)
      .superRefine((image, ctx) => {
        if (!RELEASES.some((r) => r.image === image)) {
          ctx.addIssue({ code: "custom", message: `a Debian image podkit renders configs for: ${RELEASES.map((r) => JSON.stringify(r.image)).reverse().join(" or ")}, not "${image}"` });
        }
      })
      .default(NEWEST_RELEASE.image)
      .describe(`Server image: the Debian release the pod runs, ${RELEASES.map((r) => `\`${r.image}\` (${r.codename})`).join(" or ")}. Changing it replaces the server: to move a pod to a newer release, back it up, change this, \`pulumi up\`, then \`podkit restore\` (an in-place \`apt full-upgrade\` is not supported).`),
    volume: z
      .strictObject({
        size: z.number().int().min(10).max(10240).describe("Size in GB. Can grow, never shrink."),
      })
      .optional()
      .describe("A separate block volume (ext4) for the pod's data, so it outlives the server: the base role mounts it at /srv/podkit and bind-mounts mailboxes (/var/mail/vhosts), chat archives and uploads (/var/lib/prosody) and the backup staging copy from it, before any daemon writes there. Protected: `pulumi destroy` and a server replacement keep it. Adding one to a running pod copies the data over at the first mount; stop mail and chat for it."),
  })
  .describe("A server that `pulumi up` creates at Hetzner Cloud, with primary IPv4/IPv6 addresses that survive a rebuild and reverse DNS for both.");

const existingHost = z
  .strictObject({
    address: ipv4.describe("Public IPv4 address: published in DNS (A) and used for SSH unless ssh.host is set. For a host behind an edge (`edge`), its address on its own network instead: published nowhere (its names resolve to the edge) and used for SSH only until its tunnel is up (the first apply)."),
    address6: ipv6.optional().describe("Public IPv6 address, published as AAAA. Leave out if the line has no IPv6."),
    hostKey: hostKey.optional()
      .describe("The host's SSH host key (or its SHA256 fingerprint), pinned: podkit never trusts a key on first use. Read it on the host's console: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`."),
    ssh: z
      .strictObject({
        host: hostOrAddress.optional().describe("Address to reach SSH at, if not `address` (e.g. a hackspace box behind NAT)."),
        port: port.default(22).describe("SSH port."),
        user: login.default("root").describe("SSH user: root, or a user with passwordless sudo."),
      })
      .prefault({})
      .describe("How podkit reaches the host."),
    profile: z
      .strictObject({
        virtualization: z.enum(["container", "vm", "none"]).optional()
          .describe("What the host runs on. Detected by `systemd-detect-virt`; declare it only if detection is wrong. A container leaves time sync to the machine outside it (no systemd-timesyncd)."),
        ipv6: z.boolean().optional()
          .describe("Whether the host has a public IPv6 network. Detected (a usable global address and a default route); declare `true` for a host that gets IPv6 later, `false` to keep daemons on IPv4 although the host has IPv6. Daemons listen on `::` only with IPv6."),
        firewall: z.boolean().optional()
          .describe("Whether podkit loads the host's nftables firewall. Detected (`nft list ruleset` works); declare `false` when the machine outside firewalls the host. Without it podkit warns on every apply which ports the outside must allow."),
        release: z.enum(RELEASE_CODENAMES).optional()
          .describe(`The Debian release the host runs, by codename (${RELEASE_CODENAMES.map((c) => `\`${c}\``).join(", ")}): what \`pulumi up\` renders the roles for, since it cannot look first (undeclared: \`bookworm\`). \`podkit apply\` always renders for the release the host says it runs, and \`pulumi up\` stops before changing anything on a host that runs another one. Any other release is refused.`),
        resolver: z
          .strictObject({
            address: z.union([ipv4, ipv6]).describe("The resolver's address."),
            privateZones: z.array(z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*$/, 'a zone name (e.g. "internal")')).default([])
              .describe("Reserved or private zones the resolver serves (e.g. `internal`, `test`): the pod's resolver refuses them from anywhere unless named here, and asks the resolver for them without caching its answers."),
            dnssec: z.boolean().default(true)
              .describe("Whether the resolver passes DNSSEC records through (answers carry RRSIGs when asked). `false` turns DNSSEC validation off on the host, and with it outbound DANE: a validating resolver behind one that strips signatures finds every signed name bogus and answers nothing."),
          })
          .optional()
          .describe("A resolver on the host's network that the pod's own resolver (unbound on 127.0.0.1, which otherwise resolves from the root) forwards every question to: a site whose DNS answers differ inside (split horizon) or that serves private zones. Not detected. Leave out wherever the host can reach the root servers: DNS blocklists (Spamhaus) refuse questions relayed by public or forwarding resolvers."),
      })
      .optional()
      .meta({ examples: [{ ipv6: false }, { virtualization: "container", ipv6: true }] })
      .describe("Facts about the host that `podkit apply` detects on each run; a fact declared here wins over detection. Under `pulumi up` the host cannot be looked at before rendering: it is rendered with these facts (undeclared: a machine of its own with IPv6 and a firewall), and a role whose host differs stops, naming the field to set."),
  })
  .describe("A Debian 12 or 13 host that already exists (bare metal in a hackspace, a VPS elsewhere), reached over SSH with a pinned host key.");

const labHost = z
  .strictObject({
    name: name("lab host").describe("Which lab host, by its name in the lab (`npx podkit lab status` lists them). Whether it exists and runs is checked when the stack is used, not when it is validated."),
  })
  .describe("A throwaway host of the local lab; its address and host key are read from the running lab.");

const host = z
  .strictObject({
    hcloud: hcloudHost.optional(),
    existing: existingHost.optional(),
    lab: labHost.optional(),
    edge: name("host").optional()
      .describe("A host of this pod that is this host's public face: for a box on a home or hackspace line that takes no inbound connections (dynamic address, NAT or CGNAT, port 25 blocked). The box dials a WireGuard tunnel to the edge (`edge.tunnel`); the edge forwards the pod's ports to the box with the clients' own addresses, relays the box's outgoing mail, queues incoming mail while the box is down, and runs TURN; DNS, SPF and reverse DNS name the edge's addresses. podkit reaches the box over SSH through the edge. The edge is typically the cheapest cloud server, `hcloud` or `existing`."),
    fqdn: domain.optional()
      .describe("The host's full name. Default: <host key>.<primary domain>, e.g. mx.example.org. It is the MX target and the name in every certificate."),
  })
  .describe("One machine of the pod: exactly one of hcloud, existing or lab.");

const cloudflareDns = z
  .strictObject({
    zoneIds: z.record(domain, z.string().regex(/^[0-9a-f]{32}$/, "a 32-digit hex Cloudflare zone id").describe("The zone's id (Cloudflare dashboard, zone overview).")).optional()
      .describe("Zone ids by zone name. Leave out to look zones up by name (the API token then needs Zone:Read)."),
  })
  .describe("Records are created at Cloudflare by `pulumi up` (proxying off). The API token comes from `pulumi config set --secret cloudflare:apiToken`.");

const zonefileDns = z
  .strictObject({
    nameservers: z.array(domain).min(1)
      .describe("The zone's NS records: the name servers that will serve the zone file."),
    hostmaster: address.optional()
      .describe("SOA contact. Default: hostmaster@<zone>."),
  })
  .describe("`npx podkit zone <stack>` prints zone files to load into any DNS server.");

const dns = z
  .strictObject({
    cloudflare: cloudflareDns.optional(),
    zonefile: zonefileDns.optional(),
    zones: z.array(domain).optional()
      .describe("The DNS zones the pod's records go into. Default: one zone per mail domain. Every mail domain must be one of them or under one."),
    ttl: z.number().int().min(60).max(86400).default(3600)
      .describe("TTL of every record, in seconds. Lower it a day before moving hosts."),
  })
  .describe("Where the pod's DNS records live: exactly one of cloudflare or zonefile.");

const tls = z
  .strictObject({
    acme: z
      .strictObject({
        directory: httpsUrl.default("https://acme-v02.api.letsencrypt.org/directory")
          .describe("ACME directory URL. Use Let's Encrypt's staging directory while testing to avoid its rate limits."),
        email: address.optional().describe("ACME account contact for expiry warnings. Default: postmaster of the primary domain."),
      })
      .prefault({})
      .describe("The ACME certificate authority."),
    caa: z.array(domain).default(["letsencrypt.org"])
      .describe("Certificate authorities allowed to issue for the pod's domains (CAA records). An empty list publishes no CAA record."),
  })
  .prefault({})
  .describe("Certificates: obtained and renewed on the host over ACME; every daemon using one is reloaded after renewal.");

const relay = z
  .strictObject({
    host: domain.describe("Smarthost name."),
    port: port.default(587).describe("Submission port of the smarthost (587 with STARTTLS, or 465)."),
    username: login.describe("Login at the smarthost."),
    password: secretRef.describe("Password at the smarthost, as a secret reference."),
    spf: z.string().regex(/^(include|a|ip4|ip6|mx):\S+$/, 'an SPF mechanism (e.g. "include:_spf.relay.example")').optional()
      .describe("How SPF authorises the smarthost. Default: `a:<relay host>`. Most providers document an `include:`; use it, or mail from the pod fails SPF."),
  })
  .describe("Send all outgoing mail through a smarthost: for hosts whose port 25 is blocked (new Hetzner accounts) or whose address is listed as dynamic. Postfix verifies the smarthost's certificate against the public CAs and its name against `host` (TLS level `secure`); a smarthost whose certificate does not verify is not used: mail stays queued and the log says `Server certificate not verified`. When the mail host has an edge, the edge's Postfix uses the smarthost (the mail host sends through the edge).");

/** Spamhaus ZEN (its SBL, XBL and PBL in one zone), enough on its own to refuse a client. */
export const DEFAULT_DNSBL_SITES = [{ zone: "zen.spamhaus.org", weight: 3 }];
export const DEFAULT_DNSBL_THRESHOLD = 3;

const dnsbl = z
  .strictObject({
    sites: z.array(z.strictObject({
      zone: domain.describe("The blocklist's DNS zone (e.g. zen.spamhaus.org). A client's address is listed when the zone answers an A record in 127.0.0.2-127.0.0.255; other answers (Spamhaus's 127.255.255.x for refused queries) count as not listed. The zone's name is shown to a refused client: never put a key for a paid feed in it.")
        .meta({ examples: ["zen.spamhaus.org"] }),
      weight: z.number().int().min(1).max(10).default(1)
        .describe("What a listing in this zone adds to the client's score."),
    }).describe("One blocklist and what its listing weighs.")).default(() => DEFAULT_DNSBL_SITES.map((s) => ({ ...s })))
      .describe("The blocklists postscreen asks about each new client on port 25. An empty list turns blocklist checks off (the pregreet test stays)."),
    threshold: z.number().int().min(1).default(1)
      .describe("The score at which a client is refused: the weights of the zones that list it, added. Default 1 (any listing); 3 when `mail.dnsbl` is left out, with Spamhaus ZEN weighing 3."),
  })
  .superRefine((d, ctx) => {
    // A weight already refused would only add a second, confusing problem.
    if (d.sites.some((s) => !Number.isInteger(s.weight) || s.weight < 1)) return;
    const total = d.sites.reduce((sum, s) => sum + s.weight, 0);
    if (d.sites.length && d.threshold > total) {
      ctx.addIssue({ code: "custom", path: ["threshold"], message: `a threshold the sites can reach: they weigh ${total} together, so a threshold of ${d.threshold} would never refuse anyone` });
    }
  })
  .default(() => ({ sites: DEFAULT_DNSBL_SITES.map((s) => ({ ...s })), threshold: DEFAULT_DNSBL_THRESHOLD }))
  .describe("DNS blocklists for port 25 (Postfix postscreen): a client whose listings weigh at least `threshold` is refused with 550 before Postfix's SMTP server sees it. Queries go through the host's own validating resolver: public resolvers are refused by Spamhaus.")
  .meta({ examples: [{ sites: [{ zone: "zen.spamhaus.org", weight: 3 }, { zone: "bl.spamcop.net", weight: 2 }], threshold: 3 }] });

const mail = z
  .strictObject({
    host: name("host").describe("Which host runs Postfix and Dovecot (the MX)."),
    relay: relay.optional(),
    dnsbl,
    dkim: z
      .strictObject({
        selector: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a DNS label").default("pod")
          .describe("DKIM selector. Changing it publishes a new record; the key itself is kept across rebuilds (see README, DKIM keys)."),
      })
      .prefault({})
      .describe("DKIM signing of outgoing mail; the public key is published under <selector>._domainkey.<domain>."),
    dmarc: z
      .strictObject({
        policy: z.enum(["none", "quarantine", "reject"]).default("quarantine")
          .describe("What receivers do with mail that fails DMARC. Start at quarantine; reject once reports look clean."),
        reports: address.optional()
          .describe("Where aggregate reports go; must be an account or alias of this pod. Default: postmaster@<primary domain>."),
      })
      .prefault({})
      .describe("The DMARC policy published for every mail domain."),
    mtaSts: z
      .strictObject({
        mode: z.enum(["testing", "enforce", "none"]).default("enforce")
          .describe("MTA-STS mode: senders that support it refuse to deliver without valid TLS (enforce) or only report (testing)."),
        maxAgeDays: z.number().int().min(1).max(365).default(7).describe("How long senders cache the policy."),
      })
      .prefault({})
      .describe("MTA-STS (RFC 8461): tells senders to require TLS with a valid certificate when delivering to the pod."),
    tlsReports: address.optional()
      .describe("Where TLS-RPT reports go; must be an account or alias. Default: the DMARC reports address."),
    filter: z
      .strictObject({
        junkScore: z.number().min(0).max(1000).default(6)
          .describe("rspamd score from which incoming mail gets the header `X-Spam: Yes` and is filed into the recipient's Junk folder (a Sieve script that runs before the member's own)."),
        rejectScore: z.number().min(0).max(1000).default(15)
          .describe("rspamd score from which mail is refused during the SMTP dialogue (5xx after DATA): nothing is stored and the sender is told. Must be above junkScore."),
      })
      .prefault({})
      // Reads after "expected": mail between the two scores goes to Junk, so the order matters.
      .superRefine((f, ctx) => {
        if (f.junkScore >= f.rejectScore) {
          ctx.addIssue({ code: "custom", path: ["junkScore"], message: `a junkScore below rejectScore (${f.rejectScore}): mail between the two goes to Junk, mail from rejectScore on is refused` });
        }
      })
      .describe("The spam filter (rspamd) on every message the pod receives or its members send: scores at which mail goes to Junk or is refused."),
    limits: z
      .strictObject({
        messages: z
          .strictObject({
            count: z.number().int().min(1).max(1000000).default(200)
              .describe("How many messages one member may send within `per`; the next is refused with a temporary 4xx (the client retries later, nothing is lost)."),
            per: duration.default("1h").describe("The window `count` applies to: the member's allowance refills at count/per."),
          })
          .prefault({})
          .describe("Messages per authenticated member (rspamd's ratelimit, keyed on the login): bounds what a stolen password can send."),
        recipientsPerMessage: z.number().int().min(1).max(10000).default(50)
          .describe("Recipients one message sent on the submission ports may have (Postfix smtpd_recipient_limit); further recipients get a temporary 452 and the client sends them in another message."),
        authAttemptsPerMinute: z.number().int().min(1).max(10000).default(10)
          .describe("Login attempts one client address may make per minute on the submission ports (Postfix smtpd_client_auth_rate_limit); more are refused with a temporary 4xx."),
      })
      .prefault({})
      .describe("Sending limits for members on the submission ports (587, 465)."),
    postfix: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "a Postfix parameter name (e.g. message_size_limit)"), z.union([z.string().max(1000), z.number(), z.boolean()]))
      .default({})
      .describe("Extra main.cf parameters for what the stack has no field for, written last in main.cf (they win). `postfix check` runs on them before they go live: a value Postfix refuses never reaches the running server.")
      .meta({ examples: [{ message_size_limit: 104857600 }] }),
    dovecot: z.record(
      z.string().regex(SETTING_NAME, "a Dovecot setting name (e.g. mail_max_userip_connections)"),
      z.union([
        z.string().max(1000).regex(DOVECOT_VALUE, "text, or <file (Dovecot 2.3: the file's contents) with an absolute path of letters, digits and . _ + - @ : = , /"),
        z.number(), z.boolean(),
      ]))
      .default({})
      .describe("Extra top-level Dovecot settings for what the stack has no field for, written last in dovecot.conf (they win): text in Dovecot's quotes, a boolean as yes or no, `<` and an absolute path bare (Dovecot 2.3: the file's contents). Names are the release's: Dovecot 2.4 (Debian 13) renamed many of 2.3's (Debian 12), e.g. ssl_cert is ssl_server_cert_file. `doveconf` runs on them before they go live and refuses a name its version does not know; one it passes that breaks IMAPS is rolled back by the IMAPS probe. Top-level only: a setting podkit makes inside a section (protocol imap { … }, a passdb) keeps its value there.")
      .meta({ examples: [{ mail_max_userip_connections: 50 }] }),
  })
  .describe("Mail: Postfix (MX, submission on 587 and 465), Dovecot (IMAPS, LMTP, sieve, quotas), rspamd (spam filter, DKIM signing, SPF, DKIM, DMARC and ARC checks) with Redis.");

const chat = z
  .strictObject({
    host: name("host").describe("Which host runs Prosody, and coturn: on this host, or on its edge when it has one (TURN needs a public address)."),
    archiveDays: z.number().int().min(1).max(3650).default(30)
      .describe("Days messages stay in the server-side archive (MAM), for catching up on other devices."),
    upload: z
      .strictObject({
        maxSize: size.default("20M").describe("Largest file a client may upload (photos, voice messages)."),
        expireDays: z.number().int().min(1).max(365).default(30).describe("Days after which uploads are deleted."),
      })
      .prefault({})
      .describe("HTTP file upload (XEP-0363) for images, voice messages and files in chats."),
    turn: z
      .strictObject({
        tcpRelay: z.boolean().default(false)
          .describe("Let TURN relay TCP (RFC 6062) as well as UDP. Calls need only UDP; a TCP relay lets every member open TCP connections from the pod's address to any public address (never to the host itself or a private network). Leave off unless a client needs it."),
      })
      .prefault({})
      .describe("TURN (coturn) for calls: what it relays. It never relays to the host itself, loopback, private, link-local (cloud metadata) or other special-purpose addresses."),
    prosody: z.record(
      z.string().regex(SETTING_NAME, "a Prosody option name (e.g. max_archive_query_results)")
        .refine((k) => !LUA_KEYWORDS.has(k), "a Prosody option name that is not a Lua keyword (end, if, local, nil, ...)"),
      z.union([z.string().max(1000), z.number(), z.boolean(), z.array(z.string().max(1000)).max(100)]))
      .default({})
      .describe("Extra global Prosody options for what the stack has no field for, written as Lua strings, numbers, booleans or lists of strings after podkit's own global options (they win: a list replaces podkit's, so `modules_enabled: [announce]` would load that one module alone). `prosodyctl check config` runs on them before they go live.")
      .meta({ examples: [{ max_archive_query_results: 500 }] }),
  })
  .describe("Chat: Prosody (XMPP) with the same accounts and passwords as mail, group chats, file upload, calls via TURN.");

const backupTarget = z
  .strictObject({
    sftp: z
      .strictObject({
        host: hostOrAddress.describe("SFTP server (e.g. a Hetzner storage box)."),
        port: port.default(22).describe("SFTP port (23 on Hetzner storage boxes)."),
        user: login.describe("SFTP login; its SSH key is generated on the pod's host."),
        path: remotePath.default("podkit").describe("Repository path on the server."),
        hostKey: hostKey.describe("The server's pinned host key or fingerprint."),
      })
      .optional()
      .describe("A restic repository over SFTP."),
    rest: z
      .strictObject({
        url: httpsUrl.describe("restic REST server URL including the repository path (e.g. `https://backup.example.net:8000/citymail`, served by rest-server or `rclone serve restic` in --append-only mode). Use https: the login travels with every request."),
        username: login.optional().describe("HTTP login of the pod at the REST server. Give these credentials append-only rights: a compromised pod then cannot delete its own history."),
        password: secretRef.optional().describe("Password of `username`, as a secret reference. It is written to the pod's host (root only)."),
        prune: z
          .strictObject({
            url: httpsUrl.optional().describe("REST URL with delete rights (often another port of the same server). Default: url."),
            username: login.describe("HTTP login that may delete snapshots."),
            password: secretRef.describe("Its password, as a secret reference. Never written to the pod: only `podkit backup <stack> --prune` reads it, on the admin's machine."),
          })
          .optional()
          .describe("Separate credentials for pruning (restic forget --prune with the retention below), used from the admin's machine only. Without them retention cannot be applied to an append-only repository."),
      })
      .optional()
      .describe("A restic REST server; with --append-only credentials for the pod and separate prune credentials, the pod cannot delete its own backups."),
  })
  .describe("Where backups go: exactly one of sftp or rest. Offsite: not the pod's own host.");

const backup = z
  .strictObject({
    host: name("host").describe("Which host runs the backup (usually the mail host)."),
    target: backupTarget,
    passphrase: secretRef.describe("Repository encryption passphrase. Without it the backup cannot be restored: keep a copy offline."),
    schedule: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a time of day "HH:MM"').default("03:30")
      .describe("Daily time (host time zone) the backup runs."),
    retention: z
      .strictObject({
        daily: z.number().int().min(1).max(365).default(7).describe("Daily snapshots kept."),
        weekly: z.number().int().min(0).max(520).default(4).describe("Weekly snapshots kept."),
        monthly: z.number().int().min(0).max(120).default(6).describe("Monthly snapshots kept."),
      })
      .prefault({})
      .describe("Snapshots kept (restic forget --keep-daily/weekly/monthly), applied by `podkit backup <stack> --prune`: with an append-only target only the prune credentials can delete."),
  })
  .describe("Encrypted offsite backups with restic: mailboxes, chat data and keys; checked, pruned, restorable.");

const account = z
  .strictObject({
    name: z.string().min(1).max(100).optional().describe("Display name (chat roster, mail From)."),
    password: secretRef.optional().describe("The account's one password, for mail and chat, as a secret reference. Leave it out and the member sets their own through `podkit invite` (their mail is then encrypted at rest with a key only their password unlocks: docs/privacy.md)."),
    aliases: z.array(aliasAddress).default([])
      .describe("Other addresses delivered to this account. A bare local part lives on the account's own domain."),
    forward: z.array(address).default([])
      .describe("Also forward mail to these addresses (a copy stays in the mailbox)."),
    quota: size.default("2G").describe("Mailbox quota."),
    groups: z.array(name("group")).default([]).describe("Shared roster groups this account is in."),
    admin: z.boolean().default(false).describe("Pod admin: may close and destroy any group chat."),
  })
  .describe("A person's account: one address, one password for mail and chat.");

const group = z
  .strictObject({
    name: z.string().min(1).max(100).regex(/^[^[\]]+$/, "a group name without [ or ] (they delimit groups in Prosody's groups file)").describe("Group name as shown in chat rosters."),
  })
  .describe("A shared roster group: members see each other in chat without adding contacts.");

export const stackSchema = z
  .strictObject({
    pod: name("pod").describe("The pod's name: used in resource names and labels. Changing it recreates cloud resources."),
    domains: z.array(domain).min(1)
      .describe("Mail and chat domains. The first is the primary: host names live under it and postmaster reports go there."),
    admin: z
      .strictObject({
        sshKeys: z.array(sshPublicKey).default([])
          .describe("Admins' SSH public keys for root. With podkit's own login key they are the only keys sshd accepts: ~/.ssh/authorized_keys is not read, so a key removed here is refused after the next apply."),
        sshFrom: z.array(cidr).optional()
          .describe("Limit SSH to these addresses (firewall). Default: SSH open to all, keys only. These addresses are never banned (see `banning`): put the admins' own networks here."),
      })
      .prefault({})
      .describe("Who administers the pod's hosts."),
    hosts: z.record(name("host"), host).refine((h) => Object.keys(h).length > 0, "at least one host")
      .describe("The pod's machines, by short name."),
    dns,
    tls,
    mail: mail.optional(),
    chat: chat.optional(),
    backup: backup.optional(),
    accounts: z.record(address, account).default({}).describe("Accounts by mail address."),
    groups: z.record(name("group"), group).default({}).describe("Shared roster groups by short name."),
    banning: z
      .union([
        z.literal(false),
        z.strictObject({
          failures: z.number().int().min(2).max(1000).default(10)
            .describe("Failed logins from one address, counted over SMTP AUTH (587, 465), IMAP, ManageSieve and XMPP together, that get it banned."),
          within: duration.default("10m")
            .describe("The window the failures are counted in: fewer failures spread over a longer time are never banned."),
          for: duration.default("1h")
            .describe("How long a banned address stays banned: new connections from it to any port of the host are dropped, then it may try again. A firewall reload (an apply that changes the host's ports) lifts every ban early."),
        }),
      ])
      .prefault({})
      .meta({ examples: [{ failures: 5, within: "10m", for: "1d" }, false] })
      .describe("Banning password guessers: an address that fails to log in `failures` times within `within` is dropped by the host's firewall for `for`. `admin.sshFrom` addresses and the host itself are never banned. `false` turns it off. Needs the host's own firewall (a host without one bans nothing)."),
    check: z
      .strictObject({
        pingUrl: httpsUrl.optional()
          .describe("A dead-man's switch (healthchecks.io and the like): each host's daily check (role check) fetches this URL after every run, with `/fail` appended when a check failed, so a pod whose own mail is broken is still noticed: the service alerts you when the pings stop or fail. Treat it as a secret-ish value: whoever knows it can ping it."),
      })
      .prefault({})
      .meta({ examples: [{ pingUrl: "https://hc-ping.com/0b7e0e3a-4f3c-4bd2-9f1e-0c4f5a1d2e3f" }] })
      .describe("The pod's daily self-check (role check): every host checks its own services, mail queue, disk, backups, updates, certificates and clock, and mails the postmaster only when the result changes. `podkit check <stack>` runs the same checks, and DNS, TLS and reachability from outside, on demand."),
    edge: z
      .strictObject({
        tunnel: cidr.default("10.201.0.0/29")
          .refine((c) => !c.includes(":") && Number(c.split("/")[1] ?? 32) <= 30 && Number(c.split("/")[1] ?? 32) >= 16, "an IPv4 network from /16 to /30 (e.g. \"10.201.0.0/29\")")
          .describe("The private IPv4 network inside the WireGuard tunnels between boxes and their edges: the edges and boxes get its addresses in the order `hosts` lists them (first address to the first). Pick one no host's own network uses."),
        port: port.default(51820)
          .describe("The UDP port each edge listens on for its boxes' tunnels (WireGuard's usual one)."),
        keepalive: z.number().int().min(5).max(120).default(25)
          .describe("Seconds between the box's keepalive packets: they hold the NAT mapping of the box's line open, so the edge can reach the box at any time. 25 suits nearly every NAT."),
      })
      .prefault({})
      .describe("The tunnels between boxes and their edges (`hosts.<box>.edge`). Each host's WireGuard key is generated off the host and kept with the pod's secrets (`wireguard-key-<host>`), so either side can be rebuilt without touching the other."),
    privacy: z
      .strictObject({
        logRetentionDays: z.number().int().min(1).max(90).default(7)
          .describe("Days mail and chat logs are kept. Shorter protects members; longer helps debugging."),
      })
      .prefault({})
      .describe("Store only what is needed: how long logs live."),
  })
  .describe("A podkit stack: one community mail and chat pod.");

/** The stack with every default applied: what the rest of podkit reads. */
export type Stack = z.output<typeof stackSchema>;
export type HostSpec = Stack["hosts"][string];
