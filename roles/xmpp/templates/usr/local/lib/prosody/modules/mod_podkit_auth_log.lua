-- Managed by podkit (role xmpp) for {{fqdn}}.
-- Logs the client's address on every failed login, which Prosody 0.12 and 13
-- do not (mod_saslauth only fires "authentication-failure"). podkit-ban (role
-- base) reads these lines from the journal and bans an address that fails too
-- often, as it does for mail logins. The login name is not logged.
module:hook("authentication-failure", function (event)
	local session = event.session;
	session.log("info", "Failed authentication attempt from IP: %s (%s)",
		tostring(session.ip or "?"), tostring(event.condition or "unknown-condition"));
end);
