/* jsonpack.c - compact JSON text packed smaller for the store's cold objects (jsonpack.h):
 * the byte sequences that most Kubernetes storage objects repeat word for word (their
 * keys in claimfs' order, the annotations and finalizers the controllers set) are each
 * replaced by one byte from 0x01 to 0x1f, which compact JSON never holds raw (the writer
 * escapes control characters). A bound claim's 800 bytes pack into about 220, its PV's
 * 960 into about 250. The dictionary is fixed (part of no file format: cold texts live in
 * memory only); a text that matches none of it is kept as it is.
 * Complexity: O(text) both ways (entries are tried only at a '"', by its next byte). */
#include <pthread.h>
#include <string.h>
#include "claimfs/jsonpack.h"

static const char *const dict[] = {
    NULL, /* 0x00 is never a token */
    /* 0x01 */ "\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"",
    /* 0x02 */ "\",\"namespace\":\"default\",\"generation\":1,\"uid\":\"",
    /* 0x03 */ "\",\"creationTimestamp\":\"20",
    /* 0x04 */ "\",\"finalizers\":[\"kubernetes.io/pvc-protection\"],\"resourceVersion\":\"",
    /* 0x05 */
    "\",\"annotations\":{\"volume.kubernetes.io/storage-provisioner\":\"claimfs.io/simulated\","
    "\"volume.beta.kubernetes.io/storage-provisioner\":\"claimfs.io/simulated\","
    "\"pv.kubernetes.io/bound-by-controller\":\"yes\",\"pv.kubernetes.io/bind-completed\":"
    "\"yes\"}},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{"
    "\"storage\":\"",
    /* 0x06 */
    "\"}},\"volumeMode\":\"Filesystem\",\"storageClassName\":\"standard\",\"volumeName\":\"pvc-",
    /* 0x07 */
    "\"},\"status\":{\"phase\":\"Bound\",\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":{"
    "\"storage\":\"",
    /* 0x08 */ "\"}}}",
    /* 0x09 */ "\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"pvc-",
    /* 0x0a */
    "\",\"annotations\":{\"pv.kubernetes.io/bound-by-controller\":\"yes\","
    "\"pv.kubernetes.io/provisioned-by\":\"claimfs.io/simulated\"},\"finalizers\":["
    "\"kubernetes.io/pv-protection\",\"external-provisioner.volume.kubernetes.io/finalizer\"],"
    "\"uid\":\"",
    /* 0x0b */ "\",\"resourceVersion\":\"",
    /* 0x0c */ "\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"",
    /* 0x0d */
    "\"},\"claimRef\":{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"namespace\":"
    "\"default\",\"name\":\"",
    /* 0x0e */ "\",\"uid\":\"",
    /* 0x0f */
    "\"},\"csi\":{\"driver\":\"claimfs.io/simulated\",\"fsType\":\"ext4\",\"volumeHandle\":\"",
    /* 0x10 */
    "\"},\"persistentVolumeReclaimPolicy\":\"Delete\",\"storageClassName\":\"standard\","
    "\"volumeMode\":\"Filesystem\"},\"status\":{\"lastPhaseTransitionTime\":\"20",
    /* 0x11 */ "\",\"phase\":\"Bound\"}}",
    /* 0x12 */ "\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"",
    /* 0x13 */
    "\"imagePullPolicy\":\"Always\",\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\",\"resources\":{}}],\"restartPolicy\":\"Always\","
    "\"dnsPolicy\":\"ClusterFirst\",\"schedulerName\":\"default-scheduler\","
    "\"terminationGracePeriodSeconds\":30,\"securityContext\":{},\"enableServiceLinks\":true,\"",
    /* 0x14 */
    "\"tolerations\":[{\"effect\":\"NoExecute\",\"key\":\"node.kubernetes.io/not-ready\","
    "\"operator\":\"Exists\",\"tolerationSeconds\":300},{\"effect\":\"NoExecute\",\"key\":"
    "\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"tolerationSeconds\":300}],"
    "\"nodeName\":\"",
    /* 0x15 */ "\",\"lastTransitionTime\":\"20",
    /* 0x16 */ "\",\"status\":\"True\"},{\"type\":\"",
    /* 0x17 */
    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"name\":\"",
    /* 0x18 */ "\",\"controller\":true,\"blockOwnerDeletion\":true}],\"uid\":\"",
    /* 0x19 */ "\"statefulset.kubernetes.io/pod-name\":\"",
    /* 0x1a */ "\",\"apps.kubernetes.io/pod-index\":\"",
    /* 0x1b */ "\",\"controller-revision-hash\":\"",
    /* 0x1c */ "\",\"namespace\":\"default\",\"",
    /* 0x1d */ "\"},\"status\":{\"phase\":\"",
    /* 0x1e */ "\"persistentVolumeClaim\":{\"claimName\":\"",
    /* 0x1f */ "\":{\"storage\":\"",
};
#define NTOKENS (sizeof(dict) / sizeof(dict[0]))

static unsigned char dlen[NTOKENS];
/* Tokens by the byte after their '"', longest first; 0-terminated. */
static unsigned char by_second[256][NTOKENS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void setup(void)
{
	unsigned t, i, n;
	for (t = 1; t < NTOKENS; t++)
		dlen[t] = (unsigned char)strlen(dict[t]);
	for (i = 0; i < 256; i++) {
		n = 0;
		for (t = 1; t < NTOKENS; t++)
			if ((unsigned char)dict[t][1] == i)
				by_second[i][n++] = (unsigned char)t;
		/* longest first: a few entries each, insertion sort */
		for (unsigned a = 1; a < n; a++)
			for (unsigned b = a;
			     b > 0 && dlen[by_second[i][b]] > dlen[by_second[i][b - 1]]; b--) {
				unsigned char x = by_second[i][b];
				by_second[i][b] = by_second[i][b - 1];
				by_second[i][b - 1] = x;
			}
	}
}

static void ensure_ready(void)
{
	pthread_once(&once, setup);
}

size_t jsonpack_pack(char *text, size_t n)
{
	size_t in = 0, out = 0;
	ensure_ready();
	while (in < n) {
		char c = text[in];
		if (c == '"' && in + 1 < n) {
			const unsigned char *cand = by_second[(unsigned char)text[in + 1]];
			unsigned t = 0;
			for (; *cand; cand++)
				if (dlen[*cand] <= n - in &&
				    memcmp(text + in, dict[*cand], dlen[*cand]) == 0) {
					t = *cand;
					break;
				}
			if (t) {
				text[out++] = (char)t;
				in += dlen[t];
				continue;
			}
		}
		text[out++] = c;
		in++;
	}
	return out;
}

size_t jsonpack_unpacked_len(const char *packed, size_t n)
{
	size_t len = 0, i;
	ensure_ready();
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)packed[i];
		len += c > 0 && c < NTOKENS ? dlen[c] : 1;
	}
	return len;
}

void jsonpack_unpack(const char *packed, size_t n, char *out)
{
	size_t i;
	ensure_ready();
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)packed[i];
		if (c > 0 && c < NTOKENS) {
			memcpy(out, dict[c], dlen[c]);
			out += dlen[c];
		} else {
			*out++ = (char)c;
		}
	}
}
