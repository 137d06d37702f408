/* render_age.c - kubectl's AGE column: apimachinery's duration.HumanDuration, to the
 * branch ("0s", "119s", "2m5s", "95m", "4h30m", "47h", "3d4h", "400d", "3y27d", "9y").
 * Go truncates toward zero (int(d.Seconds()), d / time.Minute) and so does C's integer
 * division, which keeps "-1s" (clock skew) at "0s" as kubectl does. */
#include <stdio.h>
#include "claimfs/render.h"

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
		int64_t s = seconds % 60;
		if (s == 0)
			snprintf(buf, len, "%lldm", (long long)minutes);
		else
			snprintf(buf, len, "%lldm%llds", (long long)minutes, (long long)s);
		return;
	}
	if (minutes < 60 * 3) {
		snprintf(buf, len, "%lldm", (long long)minutes);
		return;
	}
	hours = age_ms / 3600000;
	if (hours < 8) {
		int64_t m = minutes % 60;
		if (m == 0)
			snprintf(buf, len, "%lldh", (long long)hours);
		else
			snprintf(buf, len, "%lldh%lldm", (long long)hours, (long long)m);
	} else if (hours < 48) {
		snprintf(buf, len, "%lldh", (long long)hours);
	} else if (hours < 24 * 8) {
		int64_t h = hours % 24;
		if (h == 0)
			snprintf(buf, len, "%lldd", (long long)(hours / 24));
		else
			snprintf(buf, len, "%lldd%lldh", (long long)(hours / 24), (long long)h);
	} else if (hours < 24 * 365 * 2) {
		snprintf(buf, len, "%lldd", (long long)(hours / 24));
	} else if (hours < 24 * 365 * 8) {
		int64_t dy = (hours / 24) % 365;
		if (dy == 0)
			snprintf(buf, len, "%lldy", (long long)(hours / 24 / 365));
		else
			snprintf(buf, len, "%lldy%lldd", (long long)(hours / 24 / 365),
				 (long long)dy);
	} else {
		snprintf(buf, len, "%lldy", (long long)(hours / 24 / 365));
	}
}
