-- Managed by podkit (role xmpp) for {{fqdn}}.
-- A logged-in member changes their password from their chat client (XEP-0077
-- in-band password change, https://xmpp.org/extensions/xep-0077.html#usecases-changepw),
-- for Prosody 0.12 and 13, in place of Prosody's mod_register (off: no
-- registration, and accounts are not deleted from a client).
--
-- The member's password is their mail key's password too, so Prosody never
-- writes it: the root daemon podkit-member checks the old password, re-wraps
-- the mail key and writes the new hash (its "change" request, one JSON line
-- each way over /run/podkit-member/member.sock). The old password is required,
-- so a plain <username/><password/> change is answered with XEP-0077 §3.3's
-- form asking for it (not-authorized + form); the client submits the form.
-- The daemon takes a second or more (PBKDF2, doveadm): its answer is awaited
-- on Prosody's event loop (net.server), which goes on serving everyone else.
--
-- An account whose password is in the stack is the admin's to change: the
-- answer says so. Needs authentication = "podkit" (mod_auth_podkit).

local st = require "util.stanza";
local dataforms = require "util.dataforms";
local json = require "util.json";
local jid_bare = require "util.jid".bare;
local nodeprep = require "util.encodings".stringprep.nodeprep;
local server = require "net.server";
local have_unix, unix = pcall(require, "socket.unix");
if have_unix and type(unix) == "function" then unix = { stream = unix }; end -- older LuaSocket builds

local socket_path = module:get_option_string("podkit_member_socket", "/run/podkit-member/member.sock");
-- The daemon's own work is about a second; a stuck daemon must not leave the client waiting for ever.
local reply_timeout = 60;

module:add_feature("jabber:iq:register");

local STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

local change_form = dataforms.new {
	title = "Change your password";
	instructions = "Your old password is needed: it unlocks your mail's key, which the new one then protects.";
	{ name = "FORM_TYPE", type = "hidden", value = "jabber:iq:register:changepassword" };
	{ name = "username", type = "text-single", label = "Username", required = true };
	{ name = "old_password", type = "text-private", label = "Old password", required = true };
	{ name = "password", type = "text-private", label = "New password", required = true };
};

local function error_reply(stanza, kind, condition, text)
	return st.error_reply(stanza, kind, condition, text);
end

--- Sends `request` to podkit-member; `done(reply)` or `done(nil, why)`, exactly once, later.
local function ask_daemon(request, done)
	if not have_unix then return done(nil, "LuaSocket has no unix sockets"); end
	local finished, received, conn, timer = false, {};
	local function finish(reply, why)
		if finished then return; end
		finished = true;
		if timer then timer:stop(); end
		if conn then conn:close(); end
		done(reply, why);
	end
	local sock = unix.stream();
	sock:settimeout(0);
	local ok, err = sock:connect(socket_path);
	if not ok and err ~= "timeout" then -- "timeout": connecting, finished by the event loop
		sock:close();
		return finish(nil, ("cannot connect to %s: %s"):format(socket_path, err));
	end
	local listeners = {};
	function listeners.onincoming(_, data)
		received[#received+1] = data;
		local line = table.concat(received):match("^([^\n]*)\n");
		if line then finish(json.decode(line), "an unreadable answer"); end
	end
	function listeners.ondisconnect(_, why)
		local rest = table.concat(received);
		if rest ~= "" then return finish(json.decode(rest), "an unreadable answer"); end
		finish(nil, "closed without an answer"..(why and (": "..why) or ""));
	end
	conn = server.wrapclient(sock, "unix", 0, listeners, "*a");
	if not conn then sock:close(); return finish(nil, "net.server refused the socket"); end
	timer = module:add_timer(reply_timeout, function () finish(nil, "no answer within "..reply_timeout.." s"); end);
	conn:write(json.encode(request).."\n");
end

--- The daemon's refusal as an XMPP error. Its reasons are sentences for the member
--- (wrong old password, too many attempts, a password rule): they go to the client as text.
local function refusal(stanza, text)
	text = tostring(text or "refused");
	if text:lower():match("too many") then return error_reply(stanza, "wait", "policy-violation", text); end
	if text:lower():match("old password") or text:lower():match("incorrect") or text:lower():match("wrong") then
		return error_reply(stanza, "auth", "not-authorized", text);
	end
	return error_reply(stanza, "modify", "not-acceptable", text);
end

local function change_password(session, stanza, old, new)
	local address = session.username.."@"..session.host;
	ask_daemon({ op = "change", address = address, old = old, new = new }, function (reply, why)
		if type(reply) ~= "table" then
			module:log("error", "Password change for %s: podkit-member gave %s", address, tostring(why));
			return session.send(error_reply(stanza, "wait", "internal-server-error",
				"The password service is not answering: try again later."));
		end
		if reply.ok ~= true then
			module:log("info", "Password change for %s refused: %s", address, tostring(reply.error));
			return session.send(refusal(stanza, reply.error));
		end
		module:log("info", "Password changed for %s (podkit-member)", address);
		session.send(st.reply(stanza));
		-- As after usermanager.set_password: mod_c2s (0.12 and 13) closes the member's other sessions.
		prosody.events.fire_event("user-password-changed", { username = session.username, host = session.host, resource = session.resource });
	end);
end

local function handle_register(event)
	local session, stanza = event.origin, event.stanza;
	local query = stanza.tags[1];
	if stanza.attr.type == "get" then
		session.send(st.reply(stanza):tag("query", { xmlns = "jabber:iq:register" })
			:tag("registered"):up()
			:tag("username"):text(session.username):up()
			:tag("password"):up());
		return true;
	end
	if query:get_child("remove") then
		session.send(error_reply(stanza, "cancel", "not-allowed", "Accounts are made and removed by the pod's admin."));
		return true;
	end
	local users = prosody.hosts[session.host].users;
	if not (users.name == "podkit" and users.podkit_member(session.username)) then
		session.send(error_reply(stanza, "cancel", "not-allowed",
			"This account's password is set by the pod's admin (in the pod's stack): ask them to change it."));
		return true;
	end
	local form = query:get_child("x", "jabber:x:data");
	if form and form.attr.type == "submit" then
		local data, errors = change_form:data(form);
		if errors or nodeprep(data.username or "") ~= session.username then
			session.send(error_reply(stanza, "modify", "bad-request", "Fill in your username, your old password and the new one."));
		else
			change_password(session, stanza, data.old_password, data.password);
		end
		return true;
	end
	if query:get_child_text("username") and query:get_child_text("password") then
		-- §3.3: the old password is required, so ask for it with the form.
		local reply = st.reply(stanza);
		reply.attr.type = "error";
		reply:tag("query", { xmlns = "jabber:iq:register" }):add_child(change_form:form()):up();
		reply:tag("error", { type = "modify", code = "401" }):tag("not-authorized", { xmlns = STANZAS });
		session.send(reply);
		return true;
	end
	session.send(error_reply(stanza, "modify", "bad-request"));
	return true;
end

module:hook("iq/self/jabber:iq:register:query", handle_register);
-- §3.3's example sends the change to the server itself (to='example.org').
module:hook("iq/host/jabber:iq:register:query", function (event)
	local session, stanza = event.origin, event.stanza;
	if session.type == "c2s" and jid_bare(stanza.attr.to) == session.host then
		return handle_register(event);
	end
end);
