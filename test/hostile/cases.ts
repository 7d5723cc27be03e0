/**
 * The hostile-input table: what a careless or hostile user can hand inetboot, and exactly what
 * must happen. Extend it by adding a row; test/hostile/hostile.test.ts runs every row.
 *
 * A refused row gives a config (text, or bytes for encoding traps) and/or a command line, and
 * the exact exit code and standard error. In `args` and `stderr`, CONFIG stands for the path of
 * the row's config file and DIR for a scratch directory of the row.
 *
 * An accepted row gives one menu entry (and what it must become in the preboot's data files,
 * byte for byte). All accepted rows go into one config with ACCEPTED_TOP, one ISO is built from
 * it, and the test reads grub.cfg and the entry data back out of the ISO: each title must be in
 * grub.cfg exactly as GRUB single quotes it, grub-script-check must accept the file, and each
 * data file must hold exactly the bytes given here.
 */

export type Kind = 'yaml' | 'encoding' | 'title' | 'id' | 'url' | 'cmdline' | 'path' | 'size' | 'option';

export interface RefusedCase {
  kind: Kind;
  name: string;
  config?: string | Buffer;
  /** Default: menu -c CONFIG */
  args?: string[];
  code: number;
  stderr: string;
}

export interface AcceptedCase {
  kind: Kind;
  name: string;
  /** One entry of the config, as YAML text after "  - id: ID\n" (indented four spaces). */
  entry: string;
  /** Data files of the entry (etc/inetboot/entries/ID/FIELD) that must hold exactly this. */
  data: Record<string, string>;
  /** The entry's id (default: a0, a1, ... by row). */
  id?: string;
}

const KERNEL = 'http://10.0.2.2:8080/vmlinuz';
const entry = (fields: string) => `entries:\n  - id: e\n    title: T\n${fields}`;
const withKernel = (fields: string) => entry(`    kernel: ${KERNEL}\n${fields}`);
const titled = (title: string) => `entries:\n  - id: e\n    title: ${title}\n    kernel: ${KERNEL}\n`;
const url = (u: string) => `entries:\n  - id: e\n    title: T\n    kernel: ${JSON.stringify(u)}\n`;
const long = (n: number, c = 'a') => c.repeat(n);

export const REFUSED: RefusedCase[] = [
  // --- YAML traps
  { kind: 'yaml', name: 'an empty file', config: '', code: 2, stderr: 'inetboot: error: CONFIG: is empty: it has no entries to boot; add one with "inetboot add-entry", or start from the example with "inetboot init --force"\n' },
  { kind: 'yaml', name: 'only comments', config: '# nothing here\n\n# at all\n', code: 2, stderr: 'inetboot: error: CONFIG: is empty: it has no entries to boot; add one with "inetboot add-entry", or start from the example with "inetboot init --force"\n' },
  { kind: 'yaml', name: 'an empty entries list', config: 'timeout: 3\nentries: []\n', code: 2, stderr: 'inetboot: error: CONFIG:2: entries: lists no entries: a boot medium needs at least one; add one with "inetboot add-entry"\n' },
  { kind: 'yaml', name: 'an alias without anchor', config: `timeout: *later\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: timeout: the alias *later has no anchor &later before it: set the anchor first, or write the value out\n' },
  {
    kind: 'yaml',
    name: 'an alias bomb ("billion laughs")',
    config: `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n${titled('T')}`,
    code: 2,
    stderr: 'inetboot: error: CONFIG: cannot read the YAML: Excessive alias count indicates a resource exhaustion attack: write the values out instead of repeating aliases (*name)\n',
  },
  { kind: 'yaml', name: 'a duplicate key', config: `timeout: 1\ntimeout: 2\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:2: timeout: duplicate key "timeout": it is already set on line 1; keep one of them\n' },
  { kind: 'yaml', name: 'two YAML documents', config: `${titled('T')}---\ntimeout: 1\n`, code: 2, stderr: 'inetboot: error: CONFIG:5: the file holds more than one YAML document (a "---" line after the first keys): keep one\n' },
  { kind: 'yaml', name: 'a language-specific tag', config: `timeout: !!js/function "x"\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: YAML: Unresolved tag: tag:yaml.org,2002:js/function: this config uses no YAML tags, remove it\n' },
  { kind: 'yaml', name: 'a merge key (YAML 1.1)', config: `base: &b {timeout: 1}\n<<: *b\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: base: unknown key "base": allowed keys are timeout, default, serial, mirrors, network, proxy, pass_network, tls, preboot, entries\nCONFIG:2: "<<": unknown key "<<": allowed keys are timeout, default, serial, mirrors, network, proxy, pass_network, tls, preboot, entries\n' },
  { kind: 'yaml', name: '"yes" is not a boolean (YAML 1.2)', config: `serial: yes\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: serial: is a string: must be true or false\n' },
  { kind: 'yaml', name: 'an all-digit sha256 read as a number', config: withKernel('').replace(`kernel: ${KERNEL}`, `kernel:\n      url: ${KERNEL}\n      sha256: ${'1'.repeat(64)}`), code: 2, stderr: 'inetboot: error: CONFIG:6: entries[0].kernel.sha256: is a number: must be 64 hexadecimal characters written as a quoted string, e.g. sha256: "9f86d0..."\n' },
  { kind: 'yaml', name: 'a tab used for indentation', config: 'entries:\n\t- id: e\n', code: 2, stderr: 'inetboot: error: CONFIG:2: YAML syntax error: Tabs are not allowed as indentation\n' },
  { kind: 'yaml', name: 'a timeout of 1e400 (infinity)', config: `timeout: 1e400\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: timeout: must be a whole number of seconds, e.g. timeout: 5\n' },

  // --- Encoding
  { kind: 'encoding', name: 'a Latin-1 byte in a title', config: Buffer.from(`${titled('Caf\xe9').replace('\n    kernel', '\n    kernel')}`, 'latin1'), code: 2, stderr: 'inetboot: error: CONFIG:3: is not valid UTF-8: byte 0xE9 at column 15 is not part of a UTF-8 character; save the file as UTF-8 (inetboot does not guess other encodings)\n' },
  { kind: 'encoding', name: 'a UTF-16 file (with its byte-order mark)', config: Buffer.from(`\ufeff${titled('T')}`, 'utf16le'), code: 2, stderr: 'inetboot: error: CONFIG:1: is not valid UTF-8: byte 0xFF at column 1 is not part of a UTF-8 character; save the file as UTF-8 (inetboot does not guess other encodings)\n' },
  { kind: 'encoding', name: 'an overlong UTF-8 form of "/"', config: Buffer.concat([Buffer.from(titled('a')), Buffer.from([0x23, 0xc0, 0xaf, 0x0a])]), code: 2, stderr: 'inetboot: error: CONFIG:5: is not valid UTF-8: byte 0xC0 at column 2 is not part of a UTF-8 character; save the file as UTF-8 (inetboot does not guess other encodings)\n' },
  { kind: 'encoding', name: 'a UTF-8 encoded surrogate', config: Buffer.concat([Buffer.from('entries:\n  - id: e\n    title: a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(`\n    kernel: ${KERNEL}\n`)]), code: 2, stderr: 'inetboot: error: CONFIG:3: is not valid UTF-8: byte 0xED at column 13 is not part of a UTF-8 character; save the file as UTF-8 (inetboot does not guess other encodings)\n' },

  // --- Titles
  { kind: 'title', name: 'a right-to-left override', config: titled('"Debian \\u202Egnp.exe"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not contain U+202E (RIGHT-TO-LEFT OVERRIDE): invisible characters and direction overrides let a menu line show something other than what it is\n' },
  { kind: 'title', name: 'a left-to-right isolate', config: titled('"a\\u2066b\\u2069"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not contain U+2066 (LEFT-TO-RIGHT ISOLATE): invisible characters and direction overrides let a menu line show something other than what it is\n' },
  { kind: 'title', name: 'a zero-width space', config: titled('"Deb\\u200Bian"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not contain U+200B (ZERO WIDTH SPACE): invisible characters and direction overrides let a menu line show something other than what it is\n' },
  { kind: 'title', name: 'a line separator', config: titled('"one\\u2028two"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not contain U+2028 (LINE SEPARATOR): invisible characters and direction overrides let a menu line show something other than what it is\n' },
  { kind: 'title', name: 'a Hangul filler (an invisible letter)', config: titled('"\\u3164"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not contain U+3164 (HANGUL FILLER): invisible characters and direction overrides let a menu line show something other than what it is\n' },
  { kind: 'title', name: 'a lone surrogate escape', config: titled('"half \\ud800 of a pair"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: contains a lone UTF-16 surrogate (an escape such as "\\ud800" without its pair), which is not a character: write the character itself\n' },
  { kind: 'title', name: 'a newline in a title', config: titled('"one\\ntwo"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not contain control characters (tabs, newlines)\n' },
  { kind: 'title', name: 'an escape sequence in a title', config: titled('"\\e[2J cleared"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not contain control characters (tabs, newlines)\n' },
  { kind: 'title', name: 'a title read as an option of menuentry', config: titled('"--unrestricted"'), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: must not start with "-" (GRUB would read it as an option of menuentry)\n' },
  { kind: 'title', name: 'a title of 201 characters', config: titled(long(201)), code: 2, stderr: 'inetboot: error: CONFIG:3: entries[0].title: is longer than 200 characters: shorten it\n' },

  // --- Ids
  { kind: 'id', name: 'an id with a path in it', config: titled('T').replace('id: e', 'id: ../../etc'), code: 2, stderr: 'inetboot: error: CONFIG:2: entries[0].id: must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit\n' },
  { kind: 'id', name: 'an id with a GRUB variable', config: titled('T').replace('id: e', 'id: "e${root}"'), code: 2, stderr: 'inetboot: error: CONFIG:2: entries[0].id: must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit\n' },
  { kind: 'id', name: 'an id of 65 characters', config: titled('T').replace('id: e', `id: ${long(65)}`), code: 2, stderr: 'inetboot: error: CONFIG:2: entries[0].id: is longer than 64 characters\n' },

  // --- URLs
  { kind: 'url', name: 'no "//" after the scheme', config: url('http:10.0.2.2/vmlinuz'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: must have exactly "//" after "http:": write http://10.0.2.2/vmlinuz\n' },
  { kind: 'url', name: 'three slashes', config: url('http:///10.0.2.2/vmlinuz'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: must have exactly "//" after "http:": write http://10.0.2.2/vmlinuz\n' },
  { kind: 'url', name: 'an internationalised host name', config: url('http://bücher.example/vmlinuz'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: has the internationalised host name "bücher.example": the preboot resolves names as written, so write its ASCII form: http://xn--bcher-kva.example/vmlinuz\n' },
  { kind: 'url', name: 'a user and password', config: url('http://admin:s3cret@10.0.2.2/vmlinuz'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: must not contain a user name or password ("admin:s3cret@"): they would be baked into the boot medium and printed on its console; serve the files without a login\n' },
  { kind: 'url', name: 'a fragment', config: url('http://10.0.2.2/vmlinuz#v2'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: must not contain "#": BusyBox wget would send the fragment to the server as part of the path; write http://10.0.2.2/vmlinuz\n' },
  { kind: 'url', name: 'a short IPv4 form', config: url('http://127.1:8080/vmlinuz'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: has "127.1" as its host, which is not an IPv4 address written the plain way: write four numbers 0-255 without leading zeros, e.g. 10.0.2.2 (BusyBox\'s inet_aton() reads "127.1" as 127.0.0.1 and "010" as octal 8)\n' },
  { kind: 'url', name: 'a backtick in a path', config: url('http://10.0.2.2/`reboot`'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: must not contain quotes or backslashes: percent-encode them (" is %22, \' is %27, ` is %60, \\ is %5C)\n' },
  { kind: 'url', name: 'a non-ASCII path', config: url('http://10.0.2.2/ядро'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: has the non-ASCII character "я" in its path, which is not a URL character: percent-encode it, e.g. http://10.0.2.2/%D1%8F%D0%B4%D1%80%D0%BE\n' },
  { kind: 'url', name: 'a port with a leading zero', config: url('http://10.0.2.2:08080/vmlinuz'), code: 2, stderr: 'inetboot: error: CONFIG:4: entries[0].kernel: has "08080" as its port: write a number from 1 to 65535 without leading zeros\n' },
  { kind: 'url', name: 'a proxy with a password', config: `proxy: http://u:p@10.0.2.2:3128\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: proxy: must not contain a user name or password ("u:p@"): they would be baked into the boot medium and printed on its console; serve the files without a login\n' },
  { kind: 'url', name: 'a proxy without "//"', config: `proxy: "http:10.0.2.2:3128"\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: proxy: must have exactly "//" after "http:": write http://10.0.2.2:3128\n' },
  { kind: 'url', name: 'add-entry with an internationalised host', args: ['add-entry', '-c', 'CONFIG', '--id', 'x', '--title', 'X', '--kernel', 'http://例え.テスト/k'], config: titled('T'), code: 2, stderr: 'inetboot: error: --kernel: has the internationalised host name "例え.テスト": the preboot resolves names as written, so write its ASCII form: http://xn--r8jz45g.xn--zckzah/k\n' },

  // --- Command lines
  { kind: 'cmdline', name: 'an unbalanced double quote', config: withKernel('    append: ib.x="a b\n'), code: 2, stderr: 'inetboot: error: CONFIG:5: entries[0].append: has an unbalanced double quote: the kernel groups words only between pairs of "\n' },
  { kind: 'cmdline', name: 'a non-ASCII parameter', config: withKernel('    append: lang=français\n'), code: 2, stderr: 'inetboot: error: CONFIG:5: entries[0].append: must be printable ASCII: the kernel command line has no encoding\n' },
  {
    kind: 'cmdline',
    name: 'pass_network pushing the command line past 2047 bytes',
    config: `pass_network: true\n${withKernel(`    append: x=${long(1998)}\n`)}`,
    code: 2,
    stderr: 'inetboot: error: CONFIG:6: entries[0].append: is 2000 bytes, and pass_network: true adds " ip=..." (up to 90 bytes): the target\'s command line could be 2090 bytes, more than the kernel\'s 2047; shorten append to 1957 bytes, or write an ip= of your own\n',
  },
  {
    kind: 'cmdline',
    name: 'an ip= after "--" is init\'s, so pass_network still adds one',
    config: `pass_network: true\n${withKernel(`    append: x=${long(1990)} -- ip=1.2.3.4\n`)}`,
    code: 2,
    stderr: 'inetboot: error: CONFIG:6: entries[0].append: is 2006 bytes, and pass_network: true adds " ip=..." (up to 90 bytes): the target\'s command line could be 2096 bytes, more than the kernel\'s 2047; shorten append to 1957 bytes, or write an ip= of your own\n',
  },
  {
    kind: 'cmdline',
    name: 'a dom0 command line longer than Xen passes on',
    config: entry(`    hypervisor: http://10.0.2.2:8080/xen.gz\n    hypervisor_append: console=com1 -- quiet\n    kernel: ${KERNEL}\n    append: x=${long(995)}\n`),
    code: 2,
    stderr: 'inetboot: error: CONFIG:7: entries[0].append: is 997 bytes: Xen gives dom0 at most 1023 bytes of command line for append, the 6 bytes after " -- " in hypervisor_append, and what Xen adds itself (" noapic", " acpi=...": up to 22 bytes), and silently cuts off the rest; shorten append to 995 bytes\n',
  },

  // --- Paths (files inetboot reads or writes)
  { kind: 'path', name: 'tls.ca_bundle is /dev/zero (would read for ever)', config: `tls:\n  ca_bundle: /dev/zero\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:2: tls.ca_bundle: /dev/zero is not a regular file (a device, directory, FIFO or socket): name a PEM file of CA certificates (e.g. the output of "openssl x509 -in ca.crt -outform PEM"), or remove tls.ca_bundle to trust Debian\'s CAs\n' },
  { kind: 'path', name: 'tls.ca_bundle is missing', config: `tls:\n  ca_bundle: DIR/none.pem\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:2: tls.ca_bundle: DIR/none.pem does not exist: name a PEM file of CA certificates (e.g. the output of "openssl x509 -in ca.crt -outform PEM"), or remove tls.ca_bundle to trust Debian\'s CAs\n' },
  { kind: 'path', name: 'tls.ca_bundle holds a private key', config: `tls:\n  ca_bundle: DIR/key.pem\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:2: tls.ca_bundle: DIR/key.pem holds a PRIVATE KEY: a CA bundle holds only certificates, and this one would be copied onto the boot medium (e.g. the output of "openssl x509 -in ca.crt -outform PEM"), or remove tls.ca_bundle to trust Debian\'s CAs\n' },
  { kind: 'path', name: 'tls.ca_bundle holds a broken certificate', config: `tls:\n  ca_bundle: DIR/broken.pem\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:2: tls.ca_bundle: DIR/broken.pem: certificate 1 (line 1) cannot be read: error:0680009B:asn1 encoding routines::too long (e.g. the output of "openssl x509 -in ca.crt -outform PEM"), or remove tls.ca_bundle to trust Debian\'s CAs\n' },
  { kind: 'path', name: 'the config is a device', args: ['menu', '-c', '/dev/zero'], code: 2, stderr: 'inetboot: error: /dev/zero: is not a regular file (a device, FIFO or socket): pass -c with the path of a config file\n' },
  { kind: 'path', name: 'the config is a directory', args: ['list', '-c', 'DIR'], code: 2, stderr: 'inetboot: error: DIR: is a directory: pass -c with the path of a config file\n' },
  { kind: 'path', name: 'build-iso onto a device', config: titled('T'), args: ['build-iso', '-c', 'CONFIG', '-o', '/dev/null'], code: 2, stderr: 'inetboot: error: -o /dev/null is a character device: inetboot writes files, never devices (that would replace the device node); write a file, then copy it with: dd if=FILE of=/dev/null bs=4M conv=fsync\n' },
  { kind: 'path', name: 'build-iso into a directory', config: titled('T'), args: ['build-iso', '-c', 'CONFIG', '-o', 'DIR'], code: 2, stderr: 'inetboot: error: -o DIR is a directory: name the file to write, e.g. DIR/inetboot.iso\n' },
  { kind: 'path', name: 'build-iso below a file', config: titled('T'), args: ['build-iso', '-c', 'CONFIG', '-o', 'CONFIG/x.iso'], code: 2, stderr: 'inetboot: error: -o CONFIG/x.iso: CONFIG is a file, so no file can be written below it\n' },
  { kind: 'path', name: 'build-preboot into a file', config: titled('T'), args: ['build-preboot', '-c', 'CONFIG', '-o', 'CONFIG'], code: 2, stderr: 'inetboot: error: -o CONFIG is a file: name a directory (it is created when missing)\n' },
  { kind: 'path', name: 'add-entry on a config that is a device', args: ['add-entry', '-c', '/dev/null', '--id', 'x', '--title', 'X', '--kernel', KERNEL], code: 2, stderr: 'inetboot: error: the config /dev/null is a character device: inetboot writes files, never devices (that would replace the device node); write a file, then copy it with: dd if=FILE of=/dev/null bs=4M conv=fsync\n' },
  { kind: 'path', name: 'init over a device', args: ['init', '-c', '/dev/null', '--force'], code: 2, stderr: 'inetboot: error: the config /dev/null is a character device: inetboot writes files, never devices (that would replace the device node); write a file, then copy it with: dd if=FILE of=/dev/null bs=4M conv=fsync\n' },
  { kind: 'path', name: 'make-cache-disk onto a device', args: ['make-cache-disk', '/dev/null', '--size', '64M', '--force'], code: 2, stderr: 'inetboot: error: the image /dev/null is a character device: inetboot writes files, never devices (that would replace the device node); write a file, then copy it with: dd if=FILE of=/dev/null bs=4M conv=fsync\n' },
  { kind: 'path', name: 'smoke writing its log onto a device', args: ['smoke', 'CONFIG', '--expect', 'x', '--log', '/dev/null'], config: 'not an ISO, but a file\n', code: 2, stderr: 'inetboot: error: --log /dev/null is a character device: inetboot writes files, never devices (that would replace the device node); write a file, then copy it with: dd if=FILE of=/dev/null bs=4M conv=fsync\n' },
  { kind: 'path', name: 'a mirror path with ".."', config: `mirrors:\n  m: [http://10.0.2.2/base]\n${entry('    kernel:\n      mirror: m\n      path: ../../etc/shadow\n')}`, code: 2, stderr: 'inetboot: error: CONFIG:8: entries[0].kernel.path: must not contain ".." segments: write the path inside the group\n' },

  // --- Sizes
  { kind: 'size', name: 'a cache disk of 1 MiB', args: ['make-cache-disk', 'DIR/c.img', '--size', '1M'], code: 2, stderr: 'inetboot: error: --size 1M: at least 2M\n' },
  { kind: 'size', name: 'a cache disk of 1.5G', args: ['make-cache-disk', 'DIR/c.img', '--size', '1.5G'], code: 2, stderr: 'inetboot: error: --size 1.5G: write a size such as 64M, 1G or 1073741824 (bytes)\n' },
  { kind: 'size', name: 'a cache disk beyond FAT32', args: ['make-cache-disk', 'DIR/c.img', '--size', '3T'], code: 2, stderr: 'inetboot: error: --size 3T: at most 2T\n' },
  { kind: 'size', name: 'a cache partition of 1 MiB', config: titled('T'), args: ['build-iso', '-c', 'CONFIG', '--cache-partition', '1M', '-o', 'DIR/s.img'], code: 2, stderr: 'inetboot: error: --cache-partition 1M: at least 2M\n' },
  { kind: 'size', name: 'a cache partition of a part of a MiB', config: titled('T'), args: ['build-iso', '-c', 'CONFIG', '--cache-partition', '2500K', '-o', 'DIR/s.img'], code: 2, stderr: 'inetboot: error: --cache-partition 2500K: must be a whole number of MiB (the partition is aligned to 1 MiB)\n' },
  { kind: 'size', name: 'a cache partition beyond FAT32', config: titled('T'), args: ['build-iso', '-c', 'CONFIG', '--cache-partition', '3T', '-o', 'DIR/s.img'], code: 2, stderr: 'inetboot: error: --cache-partition 3T: at most 2T\n' },
  { kind: 'size', name: 'a cache partition of a negative size', config: titled('T'), args: ['build-iso', '-c', 'CONFIG', '--cache-partition=-1G', '-o', 'DIR/s.img'], code: 2, stderr: 'inetboot: error: --cache-partition -1G: write a size such as 64M, 1G or 1073741824 (bytes)\n' },
  { kind: 'size', name: 'a timeout of more than a day', config: `timeout: 86401\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG:1: timeout: must be at most 86400 seconds\n' },
  { kind: 'size', name: 'a file size of 0', config: entry(`    kernel:\n      url: ${KERNEL}\n      size: 0\n`), code: 2, stderr: 'inetboot: error: CONFIG:6: entries[0].kernel.size: must be more than 0 bytes\n' },
  { kind: 'size', name: 'a config larger than 16 MiB', config: `# ${long(17 * 1024 * 1024)}\n${titled('T')}`, code: 2, stderr: 'inetboot: error: CONFIG: is 17825868 bytes: a config is a few kilobytes, and at most 16 MiB is read\n' },
  { kind: 'option', name: 'smoke with a negative timeout', args: ['smoke', 'CONFIG', '--expect', 'x', '--timeout', '-5'], config: 'x\n', code: 2, stderr: 'inetboot: error: --timeout: expected a positive number of seconds, got "-5"\n' },
];

/** Top-level keys of the accepted rows' config. */
export const ACCEPTED_TOP = 'timeout: -1\nproxy: HTTP://10.0.2.2:3128\n';

export const ACCEPTED: AcceptedCase[] = [
  { kind: 'title', name: 'GRUB and shell syntax in a title', entry: `    title: "it's $(reboot); `+'`id`'+` & \\\\ {x} @TITLE@ -- ib.entry=y"\n    kernel: ${KERNEL}\n`, data: { title: "it's $(reboot); `id` & \\ {x} @TITLE@ -- ib.entry=y" } },
  { kind: 'title', name: 'Unicode letters, marks and emoji', entry: `    title: "Ünïcødé 日本語 e\\u0301 🚀"\n    kernel: ${KERNEL}\n`, data: { title: 'Ünïcødé 日本語 e\u0301 🚀' } },
  { kind: 'title', name: 'a no-break space inside a title', entry: `    title: "a\\u00a0b"\n    kernel: ${KERNEL}\n`, data: { title: 'a\u00a0b' } },
  { kind: 'url', name: 'an upper-case scheme, written lower-case', entry: '    title: Upper\n    kernel: HTTPS://10.0.2.2:8443/vmlinuz\n', data: { kernel_url: 'https://10.0.2.2:8443/vmlinuz', kernel_urls: 'https://10.0.2.2:8443/vmlinuz\n' } },
  { kind: 'url', name: 'a query without a path, given its "/"', entry: '    title: Query\n    kernel: http://10.0.2.2:8080?file=vmlinuz\n', data: { kernel_url: 'http://10.0.2.2:8080/?file=vmlinuz' } },
  { kind: 'url', name: 'shell syntax in a URL stays data', entry: "    title: Shell URL\n    kernel: http://10.0.2.2:8080/$(reboot);x&y=1\n", data: { kernel_url: 'http://10.0.2.2:8080/$(reboot);x&y=1' } },
  { kind: 'url', name: 'an IPv6 literal', entry: '    title: Six\n    kernel: http://[fd00::2]:8080/vmlinuz\n', data: { kernel_url: 'http://[fd00::2]:8080/vmlinuz' } },
  { kind: 'cmdline', name: 'shell syntax in append stays data', entry: `    title: Append\n    kernel: ${KERNEL}\n    append: 'console=ttyS0 x=$(reboot);y msg="a b" -- single'\n`, data: { append: 'console=ttyS0 x=$(reboot);y msg="a b" -- single' } },
  { kind: 'cmdline', name: 'the longest append (2047 bytes) without pass_network', entry: `    title: Long append\n    kernel: ${KERNEL}\n    append: x=${long(2045)}\n`, data: { append: `x=${long(2045)}` } },
  { kind: 'id', name: 'an id with every allowed character', id: '0-z.a_9', entry: `    title: Id\n    kernel: ${KERNEL}\n`, data: { title: 'Id', kind: 'kernel' } },
];
