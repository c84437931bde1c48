# Managed by podkit (role mail). Edit the stack file, not this file.
# Runs before each member's own filters (sieve_before): mail rspamd marked as
# spam ("X-Spam: Yes", from mail.filter.junkScore on) goes to Junk.
require ["fileinto", "mailbox"];
if header :is "X-Spam" "Yes" {
  fileinto :create "Junk";
  stop;
}
