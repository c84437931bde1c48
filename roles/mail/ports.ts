// The ports mail servers and clients reach the pod on, written once: the
// role's firewall declaration, its SRV records, its health checks and
// dovecot.conf all read these.
export const MAIL_PORTS = { smtp: 25, submissions: 465, submission: 587, imaps: 993, managesieve: 4190 } as const;
