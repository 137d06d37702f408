/* render_age.c - kubectl's AGE column: apimachinery's duration.HumanDuration, to the
 * branch ("0s", "119s", "2m5s", "95m", "4h30m", "47h", "3d4h", "400d", "3y27d", "9y").
 * Go truncates toward zero (int(d.Seconds()), d / time.Minute) and so does C's integer
 * division, which keeps "-1s" (clock skew) at "0s" as kubectl does. */
#include <stdio.h>
#include "claimfs/render.h"

/* "<a><unit>" or "<a><unit><b><sub>": Go leaves a zero second part out ("3m", "3m5s"). */
static void two_units(char *buf, size_t len, int64_t a, char unit, int64_t b, char sub)
{
	if (b == 0)
		snprintf(buf, len, "%lld%c", (long long)a, unit);
	else
		snprintf(buf, len, "%lld%c%lld%c", (long long)a, unit, (long long)b, sub);
}

void render_age(int64_t age_ms, char *buf, size_t len)
{
	int64_t seconds = age_ms / 1000, minutes, hours;

	if (seconds < -1) {
		snprintf(buf, len, "<invalid>");
		return;
	}
	if (seconds < 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (seconds < 60 * 2) {
		snprintf(buf, len, "%llds", (long long)seconds);
		return;
	}
	minutes = age_ms / 60000;
	if (minutes < 10) {
		two_units(buf, len, minutes, 'm', seconds % 60, 's');
		return;
	}
	if (minutes < 60 * 3) {
		snprintf(buf, len, "%lldm", (long long)minutes);
		return;
	}
	hours = age_ms / 3600000;
	if (hours < 8)
		two_units(buf, len, hours, 'h', minutes % 60, 'm');
	else if (hours < 48)
		snprintf(buf, len, "%lldh", (long long)hours);
	else if (hours < 24 * 8)
		two_units(buf, len, hours / 24, 'd', hours % 24, 'h');
	else if (hours < 24 * 365 * 2)
		snprintf(buf, len, "%lldd", (long long)(hours / 24));
	else if (hours < 24 * 365 * 8)
		two_units(buf, len, hours / 24 / 365, 'y', (hours / 24) % 365, 'd');
	else
		snprintf(buf, len, "%lldy", (long long)(hours / 24 / 365));
}
