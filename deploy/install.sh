#!/bin/sh
# install.sh: installs lepd from the directory it is in (an unpacked lepd-<version>-<target>.tar.gz
# of `deno task dist`) as a hardened systemd service. Needs no network and nothing but a POSIX
# shell and coreutils. Run it as root on the target:
#
#   ./install.sh                 install or upgrade, enable and (re)start the service
#   ./install.sh --uninstall     remove what an earlier install added (/opt/lepd/install.sh too)
#
# What it adds: the system user and group "lepd"; the files of this directory in /opt/lepd;
# /etc/systemd/system/lepd.service; /etc/default/lepd (the service's options); the link
# /usr/local/bin/lepd; /var/cache/lepd (systemd creates it for the service). It records them in
# /opt/lepd/.install-manifest, which --uninstall reads.
#
# It never overwrites configuration silently: an /etc/default/lepd that is already there is kept,
# and so is a lepd.service that differs from the one an earlier run installed (edited by hand, or
# installed by other means); it says so, and the new unit is in /opt/lepd/lepd.service to compare.
# --uninstall keeps them too when they were edited after the install, and says so.
#
# Options:
#   --prefix DIR    install into DIR instead of /opt/lepd (the unit's paths follow)
#   --destdir DIR   stage everything under DIR (also DESTDIR=DIR): no user is created, nothing
#                   is chown'ed, systemctl is not run; for packaging and tests
#   --no-start      install and enable, but do not (re)start the service
#   --uninstall     remove what an earlier install with the same --prefix/--destdir added
#   --help
set -eu

PREFIX=/opt/lepd
DESTDIR=${DESTDIR:-}
ACTION=install
START=yes

say() { printf 'install.sh: %s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -eu$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case $1 in
  --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
  --prefix=*) PREFIX=${1#--prefix=}; shift ;;
  --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; DESTDIR=$2; shift 2 ;;
  --destdir=*) DESTDIR=${1#--destdir=}; shift ;;
  --uninstall) ACTION=uninstall; shift ;;
  --no-start) START=no; shift ;;
  -h | --help) usage; exit 0 ;;
  *) printf 'install.sh: unknown option "%s"\n\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
done
case $PREFIX in
/*) PREFIX=${PREFIX%/} ;;
*) die "--prefix must be an absolute path, not \"$PREFIX\"" ;;
esac
[ -n "$PREFIX" ] || die "--prefix must not be /"
if [ -n "$DESTDIR" ]; then
  mkdir -p "$DESTDIR" || die "cannot create $DESTDIR"
  DESTDIR=$(cd "$DESTDIR" && pwd)
  [ "$DESTDIR" != / ] || DESTDIR=
fi

SOURCE=$(cd "$(dirname "$0")" && pwd)
UNIT=/etc/systemd/system/lepd.service
CONFIG=/etc/default/lepd
LINK=/usr/local/bin/lepd
CACHE=/var/cache/lepd
MANIFEST=$PREFIX/.install-manifest
# The files of an artifact, and their modes.
PROGRAMS="deno lepd install.sh"
DATA="lepd.js daemon.js worker.js lepd.service README.md INSTALL.md LICENSE VERSION SHA256SUMS"

staged() { [ -n "$DESTDIR" ]; }
# systemd is the init system here (not merely installed).
systemd_running() { ! staged && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }
checksum() { sha256sum "$1" | cut -d ' ' -f 1; }
# The value recorded for KEY in the manifest of an earlier install (empty if none).
recorded() { [ -f "$DESTDIR$MANIFEST" ] && sed -n "s/^$1 //p" "$DESTDIR$MANIFEST" | tail -n 1 || true; }

if ! staged && [ "$(id -u)" != 0 ]; then
  die "run me as root (or stage the files with --destdir DIR)"
fi
command -v sha256sum >/dev/null || die "sha256sum (coreutils) is needed"

# ---------------------------------------------------------------------------------------------
uninstall() {
  [ -f "$DESTDIR$MANIFEST" ] || die "no $DESTDIR$MANIFEST: nothing installed by install.sh there"
  if systemd_running; then
    systemctl disable --now lepd.service >/dev/null 2>&1 || true
  elif ! staged && command -v systemctl >/dev/null; then
    systemctl disable lepd.service >/dev/null 2>&1 || true
  fi
  for key in unit config; do
    if [ "$key" = unit ]; then path=$UNIT; else path=$CONFIG; fi
    sum=$(recorded "$key")
    if [ -z "$sum" ]; then
      [ ! -e "$DESTDIR$path" ] || say "kept $path: it was there before lepd was installed"
    elif [ ! -e "$DESTDIR$path" ]; then
      :
    elif [ "$(checksum "$DESTDIR$path")" = "$sum" ]; then
      rm -f "$DESTDIR$path"
      say "removed $path"
    else
      say "kept $path: it was changed after the install (remove it yourself if it is not needed)"
    fi
  done
  if [ "$(recorded link)" = "$PREFIX/lepd" ] && [ -L "$DESTDIR$LINK" ] &&
    [ "$(readlink "$DESTDIR$LINK")" = "$PREFIX/lepd" ]; then
    rm -f "$DESTDIR$LINK"
    say "removed $LINK"
  fi
  if systemd_running; then systemctl daemon-reload || true; fi
  rm -rf "$DESTDIR$CACHE"
  if [ "$(recorded user)" = created ] && ! staged && id lepd >/dev/null 2>&1; then
    if command -v userdel >/dev/null; then
      removed_user=$(userdel lepd 2>&1) && status=0 || status=$?
      if getent group lepd >/dev/null 2>&1; then groupdel lepd >/dev/null 2>&1 || true; fi
    else
      removed_user=$(deluser lepd 2>&1) && status=0 || status=$?
      delgroup lepd >/dev/null 2>&1 || true
    fi
    if [ "$status" = 0 ]; then
      say "removed the user and group lepd"
    else
      say "kept the user lepd: $removed_user (is lepd still running? stop it, then: userdel lepd)"
    fi
  fi
  for file in $PROGRAMS $DATA; do rm -f "$DESTDIR$PREFIX/$file"; done
  rm -f "$DESTDIR$MANIFEST"
  if rmdir "$DESTDIR$PREFIX" 2>/dev/null; then
    say "removed $PREFIX"
  else
    say "kept $PREFIX: it holds files install.sh did not put there"
  fi
  say "lepd is uninstalled"
}

# ---------------------------------------------------------------------------------------------
# Copies SOURCE/NAME to DESTDIR/DIR/NAME with MODE, through a temporary file and a rename, so a
# running lepd (or a half-written copy) never sees a partial file.
put() {
  tmp="$DESTDIR$2.lepd-new"
  cp "$1" "$tmp"
  chmod "$3" "$tmp"
  mv -f "$tmp" "$DESTDIR$2"
}

install_lepd() {
  [ -f "$SOURCE/VERSION" ] && [ -f "$SOURCE/lepd.js" ] ||
    die "run me from an unpacked lepd artifact (no VERSION or lepd.js beside me in $SOURCE)"
  if [ "$SOURCE" = "$(cd "$DESTDIR$PREFIX" 2>/dev/null && pwd)" ]; then
    die "this is the installed copy of install.sh (for --uninstall): to reinstall or upgrade, run the install.sh of an unpacked archive"
  fi
  read -r name version target runtime <"$SOURCE/VERSION" || true
  [ "$name" = lepd ] || die "$SOURCE/VERSION does not describe a lepd artifact"
  # The files are the ones the artifact was built with.
  if ! sums=$(cd "$SOURCE" && sha256sum -c SHA256SUMS 2>&1); then
    printf '%s\n' "$sums" | grep -v ': OK$' >&2
    die "the files in $SOURCE do not match their SHA256SUMS: unpack the artifact again"
  fi
  arch=${target%%-*}
  if staged; then
    :
  elif [ "$(uname -m)" != "$arch" ]; then
    die "this artifact is for $arch, this machine is $(uname -m): take lepd-$version-$(uname -m)-linux-gnu.tar.gz"
  elif ! "$SOURCE/deno" --version >/dev/null 2>&1; then
    die "$SOURCE/deno does not run here: lepd needs a 64-bit glibc user space (not musl, not 32-bit)"
  fi

  # The user the service runs as.
  user=$(recorded user)
  if staged; then
    say "staged install into $DESTDIR: no user, no chown, no systemctl"
  elif id lepd >/dev/null 2>&1; then
    [ -n "$user" ] || user=existing
  elif command -v useradd >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment "lepd, LEP profiling daemon" lepd
    user=created
    say "created the system user lepd"
  elif command -v adduser >/dev/null; then
    addgroup -S lepd 2>/dev/null || true
    adduser -S -D -H -h /nonexistent -s /sbin/nologin -G lepd lepd
    user=created
    say "created the system user lepd"
  else
    die "neither useradd nor adduser is here to create the user lepd"
  fi

  # The program: root-owned, read-only to the service.
  mkdir -p "$DESTDIR$PREFIX"
  chmod 755 "$DESTDIR$PREFIX"
  for file in $PROGRAMS; do put "$SOURCE/$file" "$PREFIX/$file" 755; done
  for file in $DATA; do put "$SOURCE/$file" "$PREFIX/$file" 644; done
  if [ "$PREFIX" != /opt/lepd ]; then
    sed "s#/opt/lepd#$PREFIX#g" "$SOURCE/lepd.service" >"$DESTDIR$PREFIX/lepd.service"
  fi

  # The unit: replaced only when it is the one an earlier run installed, unchanged.
  mkdir -p "$DESTDIR${UNIT%/*}"
  new_unit=$(checksum "$DESTDIR$PREFIX/lepd.service")
  unit_sum=$(recorded unit)
  if [ ! -e "$DESTDIR$UNIT" ]; then
    put "$DESTDIR$PREFIX/lepd.service" "$UNIT" 644
    unit_sum=$new_unit
    say "installed $UNIT"
  elif [ "$(checksum "$DESTDIR$UNIT")" = "$new_unit" ]; then
    :
  elif [ -n "$unit_sum" ] && [ "$(checksum "$DESTDIR$UNIT")" = "$unit_sum" ]; then
    put "$DESTDIR$PREFIX/lepd.service" "$UNIT" 644
    unit_sum=$new_unit
    say "updated $UNIT"
  else
    say "kept $UNIT: it differs from this release's unit (edited, or installed otherwise);" \
      "compare it with $PREFIX/lepd.service"
  fi

  # The options: created once, never overwritten.
  config_sum=$(recorded config)
  if [ -e "$DESTDIR$CONFIG" ]; then
    [ "$(checksum "$DESTDIR$CONFIG")" = "$config_sum" ] || say "kept $CONFIG (the service's options)"
  else
    mkdir -p "$DESTDIR${CONFIG%/*}"
    cat >"$DESTDIR$CONFIG.lepd-new" <<'EOF'
# Options of the lepd service (lepd.service reads this file; "/opt/lepd/lepd --help" lists them).
# lepd answers anyone who reaches its port: bind it to a management network or restrict clients,
# for example:
#   LEPD_OPTIONS="--hostname 192.0.2.10 --allow-from 192.0.2.0/24"
# A different --port, or the port of --metrics-listen, must also be allowed in the unit:
# "systemctl edit lepd", then
#   [Service]
#   SocketBindAllow=tcp:PORT
# Then "systemctl restart lepd". install.sh never overwrites this file.
LEPD_OPTIONS=""
EOF
    chmod 644 "$DESTDIR$CONFIG.lepd-new"
    mv -f "$DESTDIR$CONFIG.lepd-new" "$DESTDIR$CONFIG"
    config_sum=$(checksum "$DESTDIR$CONFIG")
    say "installed $CONFIG (the service's options)"
  fi

  # A command on PATH, unless something else has that name.
  link=$(recorded link)
  mkdir -p "$DESTDIR${LINK%/*}"
  if [ ! -e "$DESTDIR$LINK" ] && [ ! -L "$DESTDIR$LINK" ]; then
    ln -s "$PREFIX/lepd" "$DESTDIR$LINK"
    link=$PREFIX/lepd
  elif [ -L "$DESTDIR$LINK" ] && [ "$(readlink "$DESTDIR$LINK")" = "$PREFIX/lepd" ]; then
    link=$PREFIX/lepd
  else
    say "kept $LINK, which is not lepd's: run $PREFIX/lepd"
  fi

  {
    echo "# Written by install.sh of $name $version ($target); read by install.sh --uninstall."
    echo "version $version"
    echo "user ${user:-}"
    [ -z "$unit_sum" ] || echo "unit $unit_sum"
    [ -z "$config_sum" ] || echo "config $config_sum"
    [ -z "$link" ] || echo "link $link"
  } >"$DESTDIR$MANIFEST.lepd-new"
  mv -f "$DESTDIR$MANIFEST.lepd-new" "$DESTDIR$MANIFEST"
  say "installed lepd $version ($target) in $DESTDIR$PREFIX"

  if staged; then
    return 0
  fi
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable lepd.service >/dev/null 2>&1 || die "systemctl enable lepd.service failed"
    if [ "$START" = yes ]; then
      systemctl restart lepd.service || die "lepd did not start: journalctl -u lepd -b says why"
      # Type=exec reports the start once Deno runs; a daemon that cannot listen exits just after.
      sleep 3
      systemctl is-active --quiet lepd.service ||
        die "lepd stopped after starting: journalctl -u lepd -b says why"
      say "lepd is running; its start-up warnings: journalctl -u lepd -b;" \
        "what this machine lets it serve: $PREFIX/lepd --check"
    else
      say "enabled; start it with: systemctl start lepd"
    fi
    return 0
  fi
  if command -v systemctl >/dev/null && systemctl enable lepd.service >/dev/null 2>&1; then
    say "enabled lepd.service; systemd is not running here, so it starts at the next boot"
  fi
  caps=+perfmon,+sys_ptrace,+dac_read_search,+syslog
  mkdir -p "$CACHE"
  chown lepd:lepd "$CACHE" 2>/dev/null || chown lepd "$CACHE"
  say "systemd does not manage this system: start lepd from your init system as root with"
  say "  setpriv --reuid=lepd --regid=lepd --init-groups --no-new-privs \\"
  say "    --bounding-set=-all,$caps --inh-caps=-all,$caps --ambient-caps=-all,$caps \\"
  say "    env DENO_DIR=$CACHE $PREFIX/lepd --port 12307"
  say "(the user lepd with the unit's four capabilities), or simply as root: $PREFIX/lepd"
}

if [ "$ACTION" = uninstall ]; then uninstall; else install_lepd; fi
