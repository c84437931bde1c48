# Managed by podkit (role mail). Edit the stack file, not this file.
# IMAPSieve: a member copied or moved a message into Junk, so rspamd learns it
# as spam (rspamc learn_spam through the controller on 127.0.0.1:11334).
require ["vnd.dovecot.pipe", "copy", "imapsieve"];
pipe :copy "rspamd-learn" ["spam"];
