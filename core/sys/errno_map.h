/* core/sys/errno_map.h — translation of the OS's error numbers into TIDE_E* codes. */
#ifndef TIDE_SYS_ERRNO_MAP_H
#define TIDE_SYS_ERRNO_MAP_H

/* Maps a positive errno value to a negative TIDE_E* code; unknown values give TIDE_EUNKNOWN. */
int tide__err_from_errno(int errnum);

#endif
