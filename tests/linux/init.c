/*
 * /init for the Linux boot tests: a static program with no C library
 * (raw system calls), so it builds with any gcc and runs on Debian's
 * stock kernel unchanged.
 *
 * It gives itself a console (/dev/console, char 5:1), prints the kernel's
 * uname, and, when the kernel command line has "init.echo", reads one line
 * from the console and prints it back. Then it powers the machine off, so
 * a run ends with the hypervisor's clean exit.
 */

typedef unsigned long u64;

static long sys5(long n, long a, long b, long c, long d, long e)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static long sys(long n, long a, long b, long c, long d)
{
	return sys5(n, a, b, c, d, 0);
}

enum { SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_dup2 = 33,
       SYS_mkdir = 83, SYS_mknod = 133, SYS_mount = 165, SYS_reboot = 169, SYS_uname = 63 };

static u64 len(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}

static void put(const char *s)
{
	sys(SYS_write, 1, (long)s, len(s), 0);
}

static int contains(const char *hay, u64 n, const char *needle)
{
	u64 m = len(needle);
	for (u64 i = 0; i + m <= n; i++) {
		u64 j = 0;
		while (j < m && hay[i + j] == needle[j])
			j++;
		if (j == m)
			return 1;
	}
	return 0;
}

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domain[65];
};

void _start(void)
{
	static struct utsname u;
	static char buf[512];

	sys(SYS_mkdir, (long)"/dev", 0755, 0, 0);
	sys(SYS_mknod, (long)"/dev/console", 0020600, (5 << 8) | 1, 0);
	long fd = sys(SYS_open, (long)"/dev/console", 2 /* O_RDWR */, 0, 0);
	if (fd >= 0) {
		sys(SYS_dup2, fd, 0, 0, 0);
		sys(SYS_dup2, fd, 1, 0, 0);
		sys(SYS_dup2, fd, 2, 0, 0);
	}
	sys(SYS_uname, (long)&u, 0, 0, 0);
	put("init: hello from Linux userspace: ");
	put(u.sysname);
	put(" ");
	put(u.release);
	put(" ");
	put(u.machine);
	put("\n");

	sys(SYS_mkdir, (long)"/proc", 0555, 0, 0);
	sys5(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", 0, 0);
	long cfd = sys(SYS_open, (long)"/proc/cmdline", 0, 0, 0);
	long n = cfd >= 0 ? sys(SYS_read, cfd, (long)buf, sizeof(buf), 0) : 0;
	if (n > 0 && contains(buf, n, "init.echo")) {
		put("init: type a line\n");
		u64 got = 0;
		while (got < sizeof(buf) - 1) {
			long r = sys(SYS_read, 0, (long)(buf + got), 1, 0);
			if (r <= 0 || buf[got] == '\n' || buf[got] == '\r')
				break;
			got++;
		}
		buf[got] = 0;
		put("init: read '");
		put(buf);
		put("'\n");
	}
	put("init: PASS, powering off\n");
	/* LINUX_REBOOT_MAGIC1, MAGIC2, LINUX_REBOOT_CMD_POWER_OFF */
	sys(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0);
	for (;;)
		;
}
