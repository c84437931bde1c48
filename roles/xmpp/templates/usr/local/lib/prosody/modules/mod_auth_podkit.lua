-- Managed by podkit (role xmpp) for {{fqdn}}.
-- Prosody's accounts (authentication = "podkit"), for Prosody 0.12 and 13.
--
-- Two kinds of account, both from the stack:
--   * an account with a password in the stack: its account file, which podkit
--     writes in internal_hashed's format. mod_auth_internal_hashed itself is
--     loaded next to this module and answers for it, so these accounts behave
--     exactly as with authentication = "internal_hashed".
--   * a member-owned account (no password in the stack; podkit_member_accounts
--     lists them): its credential is its line in the member password file,
--     which the root daemon podkit-member writes and Dovecot reads too:
--       carol@a.test:{SCRAM-SHA-256}<iterations>,<salt>,<StoredKey>,<ServerKey>
--     (base64). RFC 7677 derives StoredKey and ServerKey the way Prosody's
--     internal_hashed does, so this one record serves SCRAM-SHA-256 (the
--     client does the 600,000 rounds) and PLAIN (over TLS only: Prosody
--     requires encryption first). A member who has set no password yet exists
--     (for rosters and messages) but cannot log in.
-- Neither file is read per login: only when it changed (inode, size or mtime).
-- This module never creates an account or a password: the stack says which
-- accounts exist, members set their password through podkit-member.
-- https://prosody.im/doc/developers/auth   https://www.rfc-editor.org/rfc/rfc7677

local lfs = require "lfs";
local base64 = require "util.encodings".base64;
local secure_equals = require "util.hashes".equals;
-- util.sasl first: loading it registers the SCRAM hashers.
local new_sasl = require "util.sasl".new;
local scram_sha_256 = assert(require "util.sasl.scram".hashers["SHA-256"], "Prosody's SASL library has no SCRAM-SHA-256");

local host = module.host;
local passwords_path = module:get_option_string("podkit_member_passwords", "/var/lib/podkit/members/passwords");
local members_path = module:get_option_string("podkit_member_accounts", "/etc/podkit/xmpp/member-accounts");

-- The stack-password accounts: internal_hashed's own provider over the same
-- account files. It is loaded but not chosen (usermanager picks the provider
-- named by `authentication`), so only this module answers for the host.
module:depends("auth_internal_hashed");
local stack_accounts;
for _, provider in ipairs(module:get_host_items("auth-provider")) do
	if provider.name == "internal_hashed" then stack_accounts = provider; end
end
assert(stack_accounts, "mod_auth_internal_hashed provides no auth provider on "..host);

--- A file's content as `parse` reads it, read again only after the file changed.
local function watched(path, parse)
	local seen, value;
	return function ()
		local a = lfs.attributes(path);
		local now = a and ("%s:%s:%s"):format(a.ino, a.size, a.modification) or "absent";
		if now ~= seen then
			local f, err = io.open(path);
			if not f and a then
				-- Prosody not in group podkit-members, say: member logins fail, and say why.
				module:log("error", "Cannot read %s: %s", path, err);
			end
			value = parse(f and f:read("*a") or "");
			if f then f:close(); end
			seen = now;
		end
		return value;
	end;
end

-- podkit_member_accounts: one address per line ('#' starts a comment).
local member_accounts = watched(members_path, function (text)
	local set = {};
	for line in text:gmatch("[^\n]+") do
		local address = line:match("^%s*([^#%s]+)");
		if address then set[address] = true; end
	end
	return set;
end);

-- The member password file (Dovecot passwd-file): address:{SCRAM-SHA-256}i,salt,stored,server[:...]
local member_passwords = watched(passwords_path, function (text)
	local records = {};
	for line in text:gmatch("[^\n]+") do
		local address, iterations, salt, stored, server =
			line:match("^([^:#]+):{SCRAM%-SHA%-256}(%d+),([%w+/=]+),([%w+/=]+),([%w+/=]+)");
		if address then
			records[address] = {
				iterations = tonumber(iterations), salt = base64.decode(salt),
				stored_key = base64.decode(stored), server_key = base64.decode(server),
			};
		elseif line:match("^[^#]") then
			module:log("warn", "A line of %s is not a {SCRAM-SHA-256} entry: ignored", passwords_path);
		end
	end
	return records;
end);

local function is_member(username)
	return username ~= nil and member_accounts()[username.."@"..host] == true;
end

--- The member's SCRAM record, or nil before they set a password.
local function member_credential(username)
	return member_passwords()[username.."@"..host];
end

local provider = {};

--- For mod_podkit_password: whether the member owns this account's password.
function provider.podkit_member(username)
	return is_member(username);
end

function provider.test_password(username, password)
	if not is_member(username) then return stack_accounts.test_password(username, password); end
	local record = member_credential(username);
	if not record then return nil, "No password set yet."; end
	-- No SASLprep here: Dovecot checks the same record against the bytes as sent.
	local ok, stored_key, server_key = scram_sha_256(password, record.salt, record.iterations);
	if ok and secure_equals(stored_key, record.stored_key) and secure_equals(server_key, record.server_key) then
		return true;
	end
	return nil, "Auth failed. Invalid username or password.";
end

function provider.user_exists(username)
	if is_member(username) then return true; end
	return stack_accounts.user_exists(username);
end

function provider.users()
	local all, seen = {}, {};
	for username in stack_accounts.users() do
		all[#all+1], seen[username] = username, true;
	end
	local suffix = "@"..host;
	for address in pairs(member_accounts()) do
		local username = address:sub(-#suffix) == suffix and address:sub(1, -#suffix - 1);
		if username and not seen[username] then all[#all+1] = username; end
	end
	local i = 0;
	return function () i = i + 1; return all[i]; end;
end

-- Writing: a member's password is the root daemon's to set, an account is the stack's to make.
local MEMBER_OWNED = "The member sets this account's password (podkit-member), not Prosody.";
function provider.set_password(username, password)
	if is_member(username) then return nil, MEMBER_OWNED; end
	return stack_accounts.set_password(username, password);
end
function provider.create_user(username, password)
	if is_member(username) then return nil, MEMBER_OWNED; end
	return stack_accounts.create_user(username, password);
end
function provider.delete_user(username)
	if is_member(username) then return nil, "The stack says which accounts exist: remove it there."; end
	return stack_accounts.delete_user(username);
end

-- Prosody 13's account state (0.12 has none of these): a member's account is always enabled.
if stack_accounts.get_account_info then
	function provider.get_account_info(username)
		if is_member(username) then return { enabled = true }; end
		return stack_accounts.get_account_info(username);
	end
	function provider.is_enabled(username)
		if is_member(username) then return true; end
		return stack_accounts.is_enabled(username);
	end
	function provider.enable(username)
		if is_member(username) then return true; end
		return stack_accounts.enable(username);
	end
	function provider.disable(username, meta)
		if is_member(username) then return nil, MEMBER_OWNED; end
		return stack_accounts.disable(username, meta);
	end
end

-- internal_hashed's SASL profile (PLAIN, SCRAM-SHA-256; OAUTHBEARER on 13),
-- with the member accounts answered from their record. A profile function
-- is (sasl, username, realm[, authzid]) on both releases (util/sasl/scram.lua).
function provider.get_sasl_handler(session)
	local inner = stack_accounts.get_sasl_handler(session).profile;
	local profile = {};
	for k, v in pairs(inner) do profile[k] = v; end
	profile.plain_test = function (sasl, username, password, realm, authzid)
		if is_member(username) then return provider.test_password(username, password), true; end
		return inner.plain_test(sasl, username, password, realm, authzid);
	end;
	-- Returns StoredKey, ServerKey, iterations, salt and "enabled"; nothing for an unknown user.
	profile.scram_sha_256 = function (sasl, username, realm, authzid)
		if is_member(username) then
			local record = member_credential(username);
			if not record then return; end
			return record.stored_key, record.server_key, record.iterations, record.salt, true;
		end
		if inner.scram_sha_256 then return inner.scram_sha_256(sasl, username, realm, authzid); end
	end;
	return new_sasl(host, profile);
end

-- A member account removed from the stack has no account file to remove (role
-- xmpp's stale-account script closes the sessions of those it removes): close
-- its open sessions here, within a minute of the list changing.
local known_members = member_accounts();
module:add_timer(60, function ()
	local now = member_accounts();
	if now ~= known_members then
		for address in pairs(known_members) do
			local username = address:match("^(.*)@"..host:gsub("%p", "%%%0").."$");
			local user = username and not now[address] and not stack_accounts.user_exists(username)
				and prosody.hosts[host].sessions[username];
			for _, session in pairs(user and user.sessions or {}) do
				session:close({ condition = "not-authorized", text = "Account removed" });
			end
		end
		known_members = now;
	end
	return 60;
end);

module:provides("auth", provider);
