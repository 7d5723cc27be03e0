/*
 * inetboot-sha256 FILE: prints the SHA-256 of FILE as sha256sum does ("HEX  FILE"), with
 * OpenSSL's libcrypto. The preboot checks every pinned download with it (sha256_of in
 * buildroot-overlay/board/inetboot/rootfs_overlay/lib/inetboot/common.sh) instead of BusyBox's
 * sha256sum, which is plain C: libcrypto's x86_64 assembly picks the CPU's SHA instructions
 * where it has them (about 6 times BusyBox's speed on such a CPU), and its integer code
 * elsewhere (about 1.4 times BusyBox's speed under QEMU/TCG, whose default CPU has none;
 * bench/preboot-steps.bench.ts measures both inside the preboot).
 *
 * Built by src/pipeline/preboot/sha256-tool.ts, linked with libcrypto statically (only its
 * SHA-256: about 40 KB) and glibc dynamically (the preboot carries glibc for kexec already):
 *   gcc -O2 -Wall -Wextra -Werror -o inetboot-sha256 inetboot-sha256.c \
 *       -Wl,-Bstatic -lcrypto -Wl,-Bdynamic
 * SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but EVP brings the
 * provider machinery along (megabytes when static); the low-level functions are what the
 * assembly sits under, and OpenSSL 3 still exports them.
 *
 * Exit codes: 0 the digest was printed; 1 FILE could not be read (a message on stderr, nothing
 * on stdout); 2 usage.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *path) {
	fprintf(stderr, "inetboot-sha256: %s: %s\n", path, strerror(errno));
	return 1;
}

int main(int argc, char **argv) {
	static unsigned char buf[1 << 16];
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: inetboot-sha256 FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) return fail(argv[1]);
	SHA256_Init(&ctx);
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n > 0) {
			SHA256_Update(&ctx, buf, (size_t)n);
		} else if (n == 0) {
			break;
		} else if (errno != EINTR) {
			int saved = errno;
			close(fd);
			errno = saved;
			return fail(argv[1]);
		}
	}
	close(fd);
	SHA256_Final(md, &ctx);
	for (size_t i = 0; i < sizeof md; i++) printf("%02x", md[i]);
	printf("  %s\n", argv[1]);
	/* A full or failed stdout must not look like a digest that was printed. */
	if (fflush(stdout) != 0 || ferror(stdout)) return fail("stdout");
	return 0;
}
