// libsystemd's daemon and journal APIs. The variadic sd_journal_send and sd_notifyf cannot be called from
// Swift; Outpost uses sd_journal_sendv and sd_notify instead.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
