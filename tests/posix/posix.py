#!/usr/bin/env python3
"""tests/posix/posix.py MOUNT REMOTE_VIEW -- artifactfs's own POSIX suite.

MOUNT is a store directory of an artifactfs mount made with allow_other;
REMOTE_VIEW the same store through a second mount with metadata_ttl=0,
which asks the remote every time: "stored" below means seen there.

For each syscall family it checks success cases, the errno cases, and the
timestamps a local disk moves.  Each case states what POSIX (or Linux, on
a local disk) gives; where artifactfs differs on purpose (hard links; keys
past 1024 bytes) the case asserts the errno the README documents.  Cases
marked "other user" run in a child process as uid/gid 65534.

Output: one "ok - FAMILY: case" / "not ok - ..." line per case, a count
per family, and last "N passed, M failed".
"""
import errno
import os
import socket
import stat
import sys
import time

MNT, VIEW = sys.argv[1], sys.argv[2]
OTHER = 65534
RESULTS = {}  # family -> [passed, failed]
SEQ = [0]


def report(family, desc, good, why=""):
    r = RESULTS.setdefault(family, [0, 0])
    r[0 if good else 1] += 1
    print(("ok - " if good else "not ok - ") + family + ": " + desc +
          ("" if good else "  (" + why + ")"), flush=True)


def fresh():
    """A new empty directory for one case; returns (path, view path)."""
    SEQ[0] += 1
    name = "px%d" % SEQ[0]
    os.mkdir(os.path.join(MNT, name))
    return os.path.join(MNT, name), os.path.join(VIEW, name)


def case(family, desc):
    """Decorator: run fn(d, v) in a fresh directory; fn raises
    AssertionError (or anything) to fail."""
    def wrap(fn):
        try:
            d, v = fresh()
            fn(d, v)
            report(family, desc, True)
        except Exception as e:  # noqa: BLE001 - a failed case is reported
            report(family, desc, False, "%s: %s" % (type(e).__name__, e))
        return fn
    return wrap


def fails(code, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == code, "got %s, wanted %s" % (
            errno.errorcode.get(e.errno, e.errno), errno.errorcode[code])
        return
    raise AssertionError("succeeded, wanted %s" % errno.errorcode[code])


def as_other(fn, *args):
    """Run fn(*args) as uid/gid 65534 in a child; return its errno or 0."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(OTHER)
            os.setuid(OTHER)
            fn(*args)
        except OSError as e:
            code = e.errno
        except BaseException:  # noqa: BLE001
            code = 255
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def other_fails(code, fn, *args):
    got = as_other(fn, *args)
    assert got == code, "other user got %s, wanted %s" % (
        errno.errorcode.get(got, got), errno.errorcode[code])


def touch(path, data=b""):
    with open(path, "wb") as f:
        f.write(data)


def later(before, after, what):
    assert after > before, "%s did not move (%d -> %d)" % (what, before,
                                                           after)


def tick():
    time.sleep(0.02)


LONG = "n" * 256
MAX = "m" * 250

# ---- open / creat -----------------------------------------------------------


@case("open", "creat(2) makes an empty regular file, stored when closed")
def _(d, v):
    fd = os.open(d + "/a", os.O_CREAT | os.O_WRONLY, 0o644)
    assert stat.S_ISREG(os.fstat(fd).st_mode)
    os.close(fd)
    st = os.stat(v + "/a")
    assert stat.S_ISREG(st.st_mode) and st.st_size == 0


@case("open", "O_CREAT|O_RDONLY also makes the file, stored when closed")
def _(d, v):
    os.close(os.open(d + "/a", os.O_CREAT | os.O_RDONLY, 0o644))
    assert os.stat(v + "/a").st_size == 0


@case("open", "a created file exists here before it is closed")
def _(d, v):
    fd = os.open(d + "/a", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        assert os.path.isfile(d + "/a")
        assert "a" in os.listdir(d)
    finally:
        os.close(fd)


@case("open", "O_EXCL on an existing file: EEXIST")
def _(d, v):
    touch(d + "/a")
    fails(errno.EEXIST, os.open, d + "/a", os.O_CREAT | os.O_EXCL |
          os.O_WRONLY)


@case("open", "O_EXCL on a file created and still open: EEXIST")
def _(d, v):
    fd = os.open(d + "/a", os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        fails(errno.EEXIST, os.open, d + "/a",
              os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    finally:
        os.close(fd)


@case("open", "open of a missing file without O_CREAT: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.open, d + "/missing", os.O_RDONLY)


@case("open", "a file used as a directory: ENOTDIR")
def _(d, v):
    touch(d + "/f")
    fails(errno.ENOTDIR, os.open, d + "/f/x", os.O_CREAT | os.O_WRONLY)


@case("open", "a directory opened for writing: EISDIR")
def _(d, v):
    fails(errno.EISDIR, os.open, d, os.O_WRONLY)


@case("open", "a 256-byte name: ENAMETOOLONG; 250 bytes work")
def _(d, v):
    fails(errno.ENAMETOOLONG, os.open, d + "/" + LONG,
          os.O_CREAT | os.O_WRONLY)
    # (file:// keeps a name as a file of its own, NAME_MAX less one byte
    # and its escapes: README, "Files")
    touch(d + "/" + MAX)
    assert os.path.isfile(v + "/" + MAX)


@case("open", "a key past 1024 bytes: ENAMETOOLONG (documented)")
def _(d, v):
    p = d
    for i in range(4):
        p += "/" + ("%d" % i) * 200
        try:
            os.mkdir(p)
        except OSError as e:
            assert e.errno == errno.ENAMETOOLONG
            return
    fails(errno.ENAMETOOLONG, os.open, p + "/" + "x" * 250,
          os.O_CREAT | os.O_WRONLY)


@case("open", "O_TRUNC empties the file and moves mtime and ctime")
def _(d, v):
    touch(d + "/a", b"content")
    st = os.stat(d + "/a")
    tick()
    os.close(os.open(d + "/a", os.O_WRONLY | os.O_TRUNC))
    st2 = os.stat(d + "/a")
    assert st2.st_size == 0
    later(st.st_mtime_ns, st2.st_mtime_ns, "mtime")
    later(st.st_ctime_ns, st2.st_ctime_ns, "ctime")
    assert os.stat(v + "/a").st_size == 0


@case("open", "write moves mtime and ctime")
def _(d, v):
    touch(d + "/a", b"x")
    st = os.stat(d + "/a")
    tick()
    with open(d + "/a", "ab") as f:
        f.write(b"y")
    st2 = os.stat(d + "/a")
    later(st.st_mtime_ns, st2.st_mtime_ns, "mtime")
    later(st.st_ctime_ns, st2.st_ctime_ns, "ctime")


@case("open", "other user: creating in a root-owned 0755 directory: EACCES")
def _(d, v):
    other_fails(errno.EACCES, lambda: os.open(d + "/o", os.O_CREAT |
                                              os.O_WRONLY, 0o644))


@case("open", "other user: writing a root-owned 0644 file: EACCES")
def _(d, v):
    touch(d + "/a")
    other_fails(errno.EACCES, lambda: os.open(d + "/a", os.O_WRONLY))


@case("open", "a creating directory: its mtime and ctime move")
def _(d, v):
    st = os.stat(d)
    tick()
    touch(d + "/a")
    st2 = os.stat(d)
    later(st.st_mtime_ns, st2.st_mtime_ns, "directory mtime")
    later(st.st_ctime_ns, st2.st_ctime_ns, "directory ctime")

# ---- chmod -------------------------------------------------------------------


@case("chmod", "chmod sets the mode, moves ctime, and is stored")
def _(d, v):
    touch(d + "/a")
    st = os.stat(d + "/a")
    tick()
    os.chmod(d + "/a", 0o640)
    st2 = os.stat(d + "/a")
    assert stat.S_IMODE(st2.st_mode) == 0o640
    later(st.st_ctime_ns, st2.st_ctime_ns, "ctime")
    assert stat.S_IMODE(os.stat(v + "/a").st_mode) == 0o640
    assert os.stat(v + "/a").st_ctime_ns == st2.st_ctime_ns


@case("chmod", "chmod of a directory moves its ctime, and is stored")
def _(d, v):
    os.mkdir(d + "/s")
    st = os.stat(d + "/s")
    tick()
    os.chmod(d + "/s", 0o700)
    st2 = os.stat(d + "/s")
    assert stat.S_IMODE(st2.st_mode) == 0o700
    later(st.st_ctime_ns, st2.st_ctime_ns, "ctime")
    assert stat.S_IMODE(os.stat(v + "/s").st_mode) == 0o700


@case("chmod", "setuid, setgid and sticky bits are kept")
def _(d, v):
    touch(d + "/a")
    os.chmod(d + "/a", 0o6755)
    assert stat.S_IMODE(os.stat(v + "/a").st_mode) == 0o6755


@case("chmod", "chmod of a missing file: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.chmod, d + "/missing", 0o600)


@case("chmod", "other user: chmod of root's file: EPERM")
def _(d, v):
    touch(d + "/a")
    other_fails(errno.EPERM, os.chmod, d + "/a", 0o777)
    assert stat.S_IMODE(os.stat(d + "/a").st_mode) != 0o777


@case("chmod", "other user: chmod of its own file works; root may too")
def _(d, v):
    os.chmod(d, 0o1777)
    assert as_other(lambda: (touch(d + "/o"), os.chmod(d + "/o",
                                                        0o600))) == 0
    assert os.stat(d + "/o").st_uid == OTHER
    os.chmod(d + "/o", 0o644)
    assert stat.S_IMODE(os.stat(v + "/o").st_mode) == 0o644

# ---- chown -------------------------------------------------------------------


@case("chown", "chown sets owner and group, moves ctime, and is stored")
def _(d, v):
    touch(d + "/a")
    st = os.stat(d + "/a")
    tick()
    os.chown(d + "/a", 1234, 2345)
    st2 = os.stat(d + "/a")
    assert (st2.st_uid, st2.st_gid) == (1234, 2345)
    later(st.st_ctime_ns, st2.st_ctime_ns, "ctime")
    st3 = os.stat(v + "/a")
    assert (st3.st_uid, st3.st_gid) == (1234, 2345)


@case("chown", "chown of a missing file: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.chown, d + "/missing", 1, 1)


@case("chown", "other user: chown of root's file: EPERM")
def _(d, v):
    touch(d + "/a")
    other_fails(errno.EPERM, os.chown, d + "/a", OTHER, OTHER)


@case("chown", "other user: giving its own file away: EPERM")
def _(d, v):
    os.chmod(d, 0o1777)
    assert as_other(touch, d + "/o") == 0
    other_fails(errno.EPERM, os.chown, d + "/o", 0, 0)

# ---- utimensat -----------------------------------------------------------------


@case("utimensat", "explicit times are set, ctime moves, and they are stored")
def _(d, v):
    touch(d + "/a")
    st = os.stat(d + "/a")
    tick()
    os.utime(d + "/a", ns=(1600000000123456789, 1700000000987654321))
    st2 = os.stat(d + "/a")
    assert st2.st_mtime_ns == 1700000000987654321
    later(st.st_ctime_ns, st2.st_ctime_ns, "ctime")
    assert os.stat(v + "/a").st_mtime_ns == 1700000000987654321


@case("utimensat", "UTIME_NOW sets mtime to now")
def _(d, v):
    touch(d + "/a")
    os.utime(d + "/a", ns=(0, 0))
    os.utime(d + "/a")
    assert abs(os.stat(d + "/a").st_mtime - time.time()) < 60


@case("utimensat", "a directory's times are set and stored")
def _(d, v):
    os.mkdir(d + "/s")
    os.utime(d + "/s", ns=(1500000000000000000, 1500000000000000000))
    assert os.stat(v + "/s").st_mtime_ns == 1500000000000000000


@case("utimensat", "utimensat of a missing file: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.utime, d + "/missing")


@case("utimensat", "other user: explicit times on root's file: EPERM")
def _(d, v):
    touch(d + "/a")
    other_fails(errno.EPERM, os.utime, d + "/a", (1, 1))


@case("utimensat", "other user: now on root's 0644 file: EACCES")
def _(d, v):
    touch(d + "/a")
    other_fails(errno.EACCES, os.utime, d + "/a")

# ---- truncate / ftruncate ----------------------------------------------------


@case("truncate", "truncate shortens, moves mtime and ctime, and is stored")
def _(d, v):
    touch(d + "/a", b"0123456789")
    st = os.stat(d + "/a")
    tick()
    os.truncate(d + "/a", 3)
    st2 = os.stat(d + "/a")
    assert st2.st_size == 3
    later(st.st_mtime_ns, st2.st_mtime_ns, "mtime")
    later(st.st_ctime_ns, st2.st_ctime_ns, "ctime")
    with open(v + "/a", "rb") as f:
        assert f.read() == b"012"


@case("truncate", "ftruncate extends with zeros")
def _(d, v):
    with open(d + "/a", "wb") as f:
        f.write(b"ab")
        f.truncate(5)
    with open(v + "/a", "rb") as f:
        assert f.read() == b"ab\0\0\0"


@case("truncate", "truncate of a directory: EISDIR")
def _(d, v):
    fails(errno.EISDIR, os.truncate, d, 0)


@case("truncate", "truncate of a missing file: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.truncate, d + "/missing", 0)


@case("truncate", "other user: truncate of root's 0644 file: EACCES")
def _(d, v):
    touch(d + "/a", b"keep")
    other_fails(errno.EACCES, os.truncate, d + "/a", 0)
    assert os.stat(d + "/a").st_size == 4

# ---- mkdir / rmdir -------------------------------------------------------------


@case("mkdir", "mkdir makes a directory, stored, and moves the parent's times")
def _(d, v):
    st = os.stat(d)
    tick()
    os.mkdir(d + "/s", 0o750)
    assert stat.S_ISDIR(os.stat(d + "/s").st_mode)
    assert stat.S_IMODE(os.stat(v + "/s").st_mode) == 0o750
    st2 = os.stat(d)
    later(st.st_mtime_ns, st2.st_mtime_ns, "parent mtime")


@case("mkdir", "mkdir of an existing name: EEXIST")
def _(d, v):
    os.mkdir(d + "/s")
    touch(d + "/f")
    fails(errno.EEXIST, os.mkdir, d + "/s")
    fails(errno.EEXIST, os.mkdir, d + "/f")


@case("mkdir", "mkdir onto a file created and still open: EEXIST")
def _(d, v):
    fd = os.open(d + "/a", os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        fails(errno.EEXIST, os.mkdir, d + "/a")
    finally:
        os.close(fd)


@case("mkdir", "mkdir under a missing directory: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.mkdir, d + "/missing/s")


@case("mkdir", "mkdir under a file: ENOTDIR")
def _(d, v):
    touch(d + "/f")
    fails(errno.ENOTDIR, os.mkdir, d + "/f/s")


@case("mkdir", "a 256-byte name: ENAMETOOLONG")
def _(d, v):
    fails(errno.ENAMETOOLONG, os.mkdir, d + "/" + LONG)


@case("mkdir", "other user: mkdir in a root-owned 0755 directory: EACCES")
def _(d, v):
    other_fails(errno.EACCES, os.mkdir, d + "/o")


@case("rmdir", "rmdir removes an empty directory, and moves the parent's times")
def _(d, v):
    os.mkdir(d + "/s")
    st = os.stat(d)
    tick()
    os.rmdir(d + "/s")
    assert not os.path.exists(d + "/s")
    assert not os.path.exists(v + "/s")
    later(st.st_mtime_ns, os.stat(d).st_mtime_ns, "parent mtime")


@case("rmdir", "rmdir of a non-empty directory: ENOTEMPTY")
def _(d, v):
    os.mkdir(d + "/s")
    touch(d + "/s/f")
    fails(errno.ENOTEMPTY, os.rmdir, d + "/s")


@case("rmdir", "rmdir of a directory holding a file still being created: "
      "ENOTEMPTY")
def _(d, v):
    os.mkdir(d + "/s")
    fd = os.open(d + "/s/a", os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        fails(errno.ENOTEMPTY, os.rmdir, d + "/s")
    finally:
        os.close(fd)


@case("rmdir", "rmdir of a file: ENOTDIR")
def _(d, v):
    touch(d + "/f")
    fails(errno.ENOTDIR, os.rmdir, d + "/f")


@case("rmdir", "rmdir of a missing directory: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.rmdir, d + "/missing")


@case("rmdir", "other user: rmdir in a root-owned 0755 directory: EACCES")
def _(d, v):
    os.mkdir(d + "/s")
    other_fails(errno.EACCES, os.rmdir, d + "/s")

# ---- unlink ------------------------------------------------------------------


@case("unlink", "unlink removes the file here and on the remote")
def _(d, v):
    touch(d + "/a", b"x")
    os.stat(v + "/a")
    st = os.stat(d)
    tick()
    os.unlink(d + "/a")
    assert not os.path.exists(d + "/a")
    assert not os.path.exists(v + "/a")
    later(st.st_mtime_ns, os.stat(d).st_mtime_ns, "parent mtime")


@case("unlink", "unlink of a missing file: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.unlink, d + "/missing")


@case("unlink", "unlink of a directory: EISDIR")
def _(d, v):
    os.mkdir(d + "/s")
    fails(errno.EISDIR, os.unlink, d + "/s")


@case("unlink", "other user: unlink in a root-owned 0755 directory: EACCES")
def _(d, v):
    touch(d + "/a")
    other_fails(errno.EACCES, os.unlink, d + "/a")
    assert os.path.exists(v + "/a")


@case("unlink", "other user: the sticky bit keeps root's file: EPERM")
def _(d, v):
    os.chmod(d, 0o1777)
    touch(d + "/a")
    other_fails(errno.EPERM, os.unlink, d + "/a")
    assert as_other(lambda: (touch(d + "/o"), os.unlink(d + "/o"))) == 0

# ---- rename ------------------------------------------------------------------


@case("rename", "rename of a file moves it here and on the remote")
def _(d, v):
    touch(d + "/a", b"data")
    os.rename(d + "/a", d + "/b")
    assert not os.path.exists(d + "/a") and not os.path.exists(v + "/a")
    with open(v + "/b", "rb") as f:
        assert f.read() == b"data"


@case("rename", "rename over a file replaces it")
def _(d, v):
    touch(d + "/a", b"new")
    touch(d + "/b", b"old")
    os.rename(d + "/a", d + "/b")
    with open(v + "/b", "rb") as f:
        assert f.read() == b"new"


@case("rename", "rename moves ctime of the file")
def _(d, v):
    touch(d + "/a")
    st = os.stat(d + "/a")
    tick()
    os.rename(d + "/a", d + "/b")
    later(st.st_ctime_ns, os.stat(d + "/b").st_ctime_ns, "ctime")


@case("rename", "rename of a directory moves what is in it")
def _(d, v):
    os.makedirs(d + "/s/t")
    touch(d + "/s/t/f", b"deep")
    os.rename(d + "/s", d + "/u")
    with open(v + "/u/t/f", "rb") as f:
        assert f.read() == b"deep"
    assert not os.path.exists(v + "/s")


@case("rename", "rename of a directory onto a non-empty one: ENOTEMPTY")
def _(d, v):
    os.mkdir(d + "/s")
    os.mkdir(d + "/u")
    touch(d + "/u/f")
    fails(errno.ENOTEMPTY, os.rename, d + "/s", d + "/u")


@case("rename", "rename of a directory onto an empty one replaces it")
def _(d, v):
    os.mkdir(d + "/s")
    touch(d + "/s/f")
    os.mkdir(d + "/u")
    os.rename(d + "/s", d + "/u")
    assert os.path.isfile(v + "/u/f")


@case("rename", "rename of a file onto a directory: EISDIR")
def _(d, v):
    touch(d + "/a")
    os.mkdir(d + "/s")
    fails(errno.EISDIR, os.rename, d + "/a", d + "/s")


@case("rename", "rename of a directory onto a file: ENOTDIR")
def _(d, v):
    os.mkdir(d + "/s")
    touch(d + "/a")
    fails(errno.ENOTDIR, os.rename, d + "/s", d + "/a")


@case("rename", "rename of a missing file: ENOENT")
def _(d, v):
    fails(errno.ENOENT, os.rename, d + "/missing", d + "/b")


@case("rename", "rename of a directory into itself: EINVAL")
def _(d, v):
    os.mkdir(d + "/s")
    fails(errno.EINVAL, os.rename, d + "/s", d + "/s/t")


@case("rename", "rename to a 256-byte name: ENAMETOOLONG")
def _(d, v):
    touch(d + "/a")
    fails(errno.ENAMETOOLONG, os.rename, d + "/a", d + "/" + LONG)


@case("rename", "rename of a fifo keeps it a fifo")
def _(d, v):
    os.mkfifo(d + "/p")
    os.rename(d + "/p", d + "/q")
    assert stat.S_ISFIFO(os.stat(v + "/q").st_mode)


@case("rename", "other user: rename in a root-owned 0755 directory: EACCES")
def _(d, v):
    touch(d + "/a")
    other_fails(errno.EACCES, os.rename, d + "/a", d + "/b")

# ---- symlink / readlink -------------------------------------------------------


@case("symlink", "symlink stores the target; readlink reads it back")
def _(d, v):
    os.symlink("some/where", d + "/l")
    assert os.readlink(d + "/l") == "some/where"
    assert stat.S_ISLNK(os.lstat(v + "/l").st_mode)
    assert os.readlink(v + "/l") == "some/where"


@case("symlink", "symlink onto an existing name: EEXIST")
def _(d, v):
    touch(d + "/a")
    fails(errno.EEXIST, os.symlink, "x", d + "/a")


@case("symlink", "readlink of a regular file: EINVAL")
def _(d, v):
    touch(d + "/a")
    fails(errno.EINVAL, os.readlink, d + "/a")


@case("symlink", "a symlink is followed to its target")
def _(d, v):
    touch(d + "/a", b"target")
    os.symlink("a", d + "/l")
    with open(d + "/l", "rb") as f:
        assert f.read() == b"target"


@case("symlink", "a 256-byte link name: ENAMETOOLONG")
def _(d, v):
    fails(errno.ENAMETOOLONG, os.symlink, "x", d + "/" + LONG)

# ---- mkfifo / mknod ------------------------------------------------------------


@case("mknod", "mkfifo makes a fifo, stored as one")
def _(d, v):
    os.mkfifo(d + "/p", 0o640)
    assert stat.S_ISFIFO(os.stat(d + "/p").st_mode)
    st = os.stat(v + "/p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640


@case("mknod", "a character device keeps its number (root)")
def _(d, v):
    os.mknod(d + "/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    st = os.stat(v + "/null")
    assert stat.S_ISCHR(st.st_mode)
    assert st.st_rdev == os.makedev(1, 3)


@case("mknod", "a block device keeps its number (root)")
def _(d, v):
    os.mknod(d + "/blk", stat.S_IFBLK | 0o600, os.makedev(7, 0))
    st = os.stat(v + "/blk")
    assert stat.S_ISBLK(st.st_mode) and st.st_rdev == os.makedev(7, 0)


@case("mknod", "bind(2) of a unix socket stores a socket node")
def _(d, v):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(d + "/sock")
    finally:
        s.close()
    assert stat.S_ISSOCK(os.stat(v + "/sock").st_mode)


@case("mknod", "mkfifo onto an existing name: EEXIST")
def _(d, v):
    touch(d + "/a")
    fails(errno.EEXIST, os.mkfifo, d + "/a")


@case("mknod", "other user: mknod of a device: EPERM")
def _(d, v):
    os.chmod(d, 0o1777)
    other_fails(errno.EPERM, os.mknod, d + "/dev",
                stat.S_IFCHR | 0o666, os.makedev(1, 3))

# ---- link ----------------------------------------------------------------------


@case("link", "hard links: EPERM (objects cannot share content; documented)")
def _(d, v):
    touch(d + "/a")
    fails(errno.EPERM, os.link, d + "/a", d + "/b")


total = [0, 0]
for fam, (p, f) in RESULTS.items():
    print("# %-10s %3d passed, %d failed" % (fam, p, f))
    total[0] += p
    total[1] += f
print("%d passed, %d failed" % (total[0], total[1]))
sys.exit(1 if total[1] else 0)
