-- Managed by podkit (role mail) for {{fqdn}}. Edit the stack file, not this file.
-- Anti-spoofing by the header From, the address a reader sees. rspamd's own
-- modules cannot say either rule: multimap matches one value against a map,
-- not "this address belongs to this login", and no module asks whether the
-- message came in unauthenticated from outside. Two symbols, then; the
-- refusals are force_actions rules (local.d/force_actions.conf).
local lua_util = require "lua_util"

-- address -> login that may send as it: the same data as Postfix's
-- /etc/postfix/sender_logins. rspamd reads a changed file by itself within a
-- minute; no reload.
local sender_logins = rspamd_config:add_map({
  type = "map",
  url = "{{senderLoginsMap}}",
  description = "which login may use which header From address",
})
-- The pod's own mail domains.
local pod_domains = rspamd_config:add_map({
  type = "set",
  url = "{{podDomainsMap}}",
  description = "this pod's mail domains",
})

local function header_from(task)
  local from = task:get_from("mime")
  if not from or #from ~= 1 or not from[1].addr or from[1].addr == "" then return nil end
  return string.lower(from[1].addr), string.lower(from[1].domain or "")
end

-- Submission: a member may put in From only an address their login owns. A
-- message with no single From address is refused too: it could not be
-- checked. Mail the host sends itself (local, no login) is not a member's.
rspamd_config:register_symbol({
  name = "POD_FROM_NOT_OWNED",
  type = "normal",
  score = 0.0,
  group = "policies",
  description = "header From is not an address the authenticated login may send as",
  callback = function(task)
    local user = task:get_user()
    if not user then return false end
    local addr = header_from(task)
    if addr and sender_logins and sender_logins:get_key(addr) == string.lower(user) then return false end
    return true, addr or "no single From address"
  end,
})

-- From outside: a header From on one of the pod's domains must pass DMARC
-- (aligned SPF or DKIM, which only the pod itself can give), whatever policy
-- the domain publishes.
rspamd_config:register_symbol({
  name = "POD_DOMAIN_SPOOFED",
  type = "normal",
  score = 0.0,
  group = "policies",
  description = "header From on this pod's domain, from outside, without passing DMARC",
  callback = function(task)
    if lua_util.is_skip_local_or_authed(task, { false, false }) then return false end
    local addr, domain = header_from(task)
    if not addr or not pod_domains or not pod_domains:get_key(domain) then return false end
    if task:has_symbol("DMARC_POLICY_ALLOW") then return false end
    return true, domain
  end,
})
-- After the DMARC check has answered.
rspamd_config:register_dependency("POD_DOMAIN_SPOOFED", "DMARC_CHECK")
{{#edge}}

-- external_relay (local.d/external_relay.conf) reads the edge's Received
-- header only for mail that came from the edge ({{address}}, over the tunnel).
rspamd_config:add_condition("EDGE_RELAY", function(task)
  local ip = task:get_from_ip()
  return ip ~= nil and ip:is_valid() and ip:to_string() == "{{address}}"
end)
{{/edge}}
