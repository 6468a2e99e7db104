#ifndef SAMROM_CSYSTEMCLOCK_SHIM_H
#define SAMROM_CSYSTEMCLOCK_SHIM_H
/* adjtimex(2), read only: whether the kernel's clock is NTP-synchronised
   (samrom doctor). Part of glibc; nothing to link. */
#include <sys/timex.h>
#endif
