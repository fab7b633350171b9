/* clock.h - the monotonic clock every timeout, breaker and cache age of
 * x509ca is measured on. */
#ifndef XCA_CLOCK_H
#define XCA_CLOCK_H

/* Return milliseconds of CLOCK_MONOTONIC: only differences mean anything,
 * and wall-clock changes do not move it. Never fails. */
long long xca_now_ms(void);

#endif
