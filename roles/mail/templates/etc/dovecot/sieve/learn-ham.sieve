# Managed by podkit (role mail). Edit the stack file, not this file.
# IMAPSieve: a member moved a message out of Junk, so rspamd learns it as ham;
# not when it went to Trash (deleting spam says nothing about it).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];
if environment :matches "imap.mailbox" "*" {
  set "mailbox" "${1}";
}
if string "${mailbox}" "Trash" {
  stop;
}
pipe :copy "rspamd-learn" ["ham"];
