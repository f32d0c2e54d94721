#!/bin/sh
# Installs a release archive for real — as root, without --destdir: the user, /opt/lepd, the unit,
# /etc/default/lepd — into a throwaway copy of this machine's root file system, starts lepd the way
# install.sh says to where systemd is not the init system (setpriv: the user lepd with the unit's
# four capabilities), asks it SayHello, and uninstalls; then once more as if systemd were the init
# system, with a stand-in systemctl that records what install.sh asks of it. Nothing of the
# machine changes: every write goes to an overlay on a tmpfs in a private mount namespace, gone
# when this script ends.
#
# Usage (as root; scripts/test_aarch64.ts runs it):
#   unshare --mount --propagation private sh scripts/overlay_install.sh ARCHIVE.tar.gz PORT
#
# Exit status: 0 when every step passed; 77 when this machine cannot make the overlay (no
# privilege to mount, no overlayfs), with the reason; 1 on a failure.
set -eu
archive=$1
port=$2
top=$(basename "$archive" .tar.gz)

[ "$(id -u)" = 0 ] || { echo "skip: not root"; exit 77; }
work=$(mktemp -d)
# The mounts end with the namespace; the empty directory is the machine's.
trap 'umount -R "$work" 2>/dev/null || umount -l "$work" 2>/dev/null; rmdir "$work" 2>/dev/null || true' EXIT
if ! mount -t tmpfs -o size=512m lepd-overlay "$work" 2>/dev/null; then
  rmdir "$work"
  echo "skip: cannot mount a tmpfs here (no CAP_SYS_ADMIN in this namespace?)"
  exit 77
fi
mkdir "$work/upper" "$work/work" "$work/root"
if ! mount -t overlay lepd-overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" \
  "$work/root" 2>/dev/null; then
  echo "skip: cannot mount an overlay of / here"
  exit 77
fi
root=$work/root
# From here on a failure must not reach the machine: the chroot is the overlay.
[ -x "$root/bin/sh" ] || { echo "FAIL: the overlay is empty"; exit 1; }
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"
mount -t tmpfs tmpfs "$root/run"
tar -xzf "$archive" -C "$root/tmp"

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  exit 1
}
in_root() { chroot "$root" "$@"; }

step "install.sh, as root, no --destdir"
in_root "/tmp/$top/install.sh" || fail "install.sh exited with status $?"
in_root id lepd || fail "no user lepd"
for path in /opt/lepd/deno /opt/lepd/lepd.js /etc/systemd/system/lepd.service /etc/default/lepd \
  /usr/local/bin/lepd /var/cache/lepd; do
  in_root test -e "$path" || fail "$path is missing"
done
[ "$(in_root stat -c %U /var/cache/lepd)" = lepd ] || fail "/var/cache/lepd is not lepd's"
[ "$(in_root stat -c %U /opt/lepd/lepd.js)" = root ] || fail "/opt/lepd/lepd.js is not root's"

step "lepd as the user lepd with the unit's capabilities, as install.sh prints it"
caps=+perfmon,+sys_ptrace,+dac_read_search,+syslog
# chroot itself in the background (not the in_root function, a subshell): $! is then the
# process that passes the kill on to lepd.
chroot "$root" timeout 120 setpriv --reuid=lepd --regid=lepd --init-groups --no-new-privs \
  --bounding-set=-all,$caps --inh-caps=-all,$caps --ambient-caps=-all,$caps \
  env DENO_DIR=/var/cache/lepd /opt/lepd/lepd --hostname 127.0.0.1 --port "$port" \
  2>"$work/lepd.log" &
daemon=$!
answer=
for _ in $(seq 1 60); do
  if grep -q " listening on " "$work/lepd.log"; then
    answer=$(printf '{"method":"SayHello"}' | timeout 10 bash -c \
      "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; timeout 5 cat <&3" || true)
    break
  fi
  kill -0 "$daemon" 2>/dev/null || break
  sleep 1
done
kill "$daemon" 2>/dev/null || true
wait "$daemon" || true
cat "$work/lepd.log"
case $answer in
*'"Hello!lepdendstring"'*) echo "SayHello answered" ;;
*) fail "no SayHello answer (got: $answer)" ;;
esac

step "install.sh --uninstall"
in_root /opt/lepd/install.sh --uninstall || fail "--uninstall exited with status $?"
! in_root id lepd 2>/dev/null || fail "the user lepd is still there"
for path in /opt/lepd /etc/systemd/system/lepd.service /etc/default/lepd /usr/local/bin/lepd \
  /var/cache/lepd /etc/systemd/system/multi-user.target.wants/lepd.service; do
  ! in_root test -e "$path" || fail "$path is still there"
done

step "install.sh where systemd is the init system (a stand-in systemctl that records its calls)"
mkdir -p "$root/run/systemd/system" "$root/usr/local/sbin"
printf '#!/bin/sh\necho "$*" >>/tmp/systemctl.calls\n' >"$root/usr/local/sbin/systemctl"
chmod 755 "$root/usr/local/sbin/systemctl"
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
out=$(in_root env PATH=$path "/tmp/$top/install.sh") || fail "install.sh exited with status $?"
echo "$out"
expected="daemon-reload
enable lepd.service
restart lepd.service
is-active --quiet lepd.service"
calls=$(cat "$root/tmp/systemctl.calls")
[ "$calls" = "$expected" ] || fail "systemctl was asked: $calls"
case $out in *"lepd is running"*) ;; *) fail "install.sh did not say lepd is running" ;; esac
rm "$root/tmp/systemctl.calls"
out=$(in_root env PATH=$path /opt/lepd/install.sh --uninstall) || fail "--uninstall: status $?"
echo "$out"
expected="disable --now lepd.service
daemon-reload"
calls=$(cat "$root/tmp/systemctl.calls")
[ "$calls" = "$expected" ] || fail "systemctl was asked: $calls"
! in_root id lepd 2>/dev/null || fail "the user lepd is still there"
! in_root test -e /opt/lepd || fail "/opt/lepd is still there"
echo PASS
