#!/usr/bin/env bash
# Builds the deb and the rpm from a configured build tree, checks them, and installs the deb
# on this machine: the service user, directories, unit and config appear, the installed
# binary runs, an upgrade keeps an edited config, remove keeps the data, purge removes it all.
# Needs root (dpkg -i); exits 77 (skipped) otherwise. Usage: linux_packages_test.sh BUILD_DIR
set -euo pipefail

build=$(cd "$1" && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: installing the deb needs root"
    exit 77
fi
if dpkg-query -W -f='${Status}' opampsupervisor 2>/dev/null | grep -q "installed"; then
    echo "FAIL: opampsupervisor is already installed here; purge it first (dpkg -P opampsupervisor)"
    exit 1
fi

work=$(mktemp -d)
cleanup() {
    dpkg -P opampsupervisor >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() {
    echo "FAIL: $*"
    exit 1
}
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok: $what"
    else
        fail "$what"
    fi
}

cpack --config "$build/CPackConfig.cmake" -G "DEB;RPM" >cpack.log 2>&1 || {
    cat cpack.log
    fail "cpack"
}
deb=$(ls ./*.deb)
rpm=$(ls ./*.rpm)
echo "built: $deb $rpm"

# --- the deb, as a file ---
lintian --fail-on error --tag-display-limit 0 "$deb" 2>&1 | grep -v "running with root" || true
check "lintian finds no error" bash -c "lintian --fail-on error '$deb' >/dev/null 2>&1"
check "the config files are conffiles" \
    bash -c "dpkg-deb -I '$deb' conffiles | grep -qx /etc/opampsupervisor/config.yaml"
for script in postinst prerm postrm; do
    dpkg-deb --ctrl-tarfile "$deb" | tar -xO "./$script" >"$script"
    check "$script is valid sh" sh -n "$script"
done

# --- the rpm, as a file (rpm cannot install on Debian, its database is not the system's) ---
check "rpm: config files are %config(noreplace)" \
    bash -c "rpm -qp --configfiles '$rpm' 2>/dev/null | grep -qx /etc/opampsupervisor/config.yaml"
check "rpm: the config is 0640 root:opampsupervisor" bash -c "
    rpm -qp --queryformat '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\n]' '$rpm' 2>/dev/null |
    grep -qx -- '-rw-r----- root opampsupervisor /etc/opampsupervisor/config.yaml'"
check "rpm: holds the binary, the unit and the man page" bash -c "
    files=\$(rpm -qlp '$rpm' 2>/dev/null)
    grep -qx /usr/bin/opampsupervisor <<<\"\$files\" &&
    grep -qx /usr/lib/systemd/system/opampsupervisor.service <<<\"\$files\" &&
    grep -qx /usr/share/man/man1/opampsupervisor.1.gz <<<\"\$files\" &&
    ! grep -q build-id <<<\"\$files\""
check "rpm: scriptlets create the user and manage the service" bash -c "
    scripts=\$(rpm -qp --scripts '$rpm' 2>/dev/null)
    grep -q 'useradd --system' <<<\"\$scripts\" && grep -q 'systemctl disable --now' <<<\"\$scripts\""
rpm -qp --queryformat '%{PREIN}' "$rpm" >pre 2>/dev/null
rpm -qp --queryformat '%{POSTIN}' "$rpm" >post 2>/dev/null
check "rpm: %pre and %post are valid sh" bash -c "sh -n pre && sh -n post"

# --- installing the deb ---
dpkg -i "$deb" >install.log 2>&1 || {
    cat install.log
    fail "dpkg -i"
}
unit=/usr/lib/systemd/system/opampsupervisor.service
check "the service user exists" bash -c "getent passwd opampsupervisor >/dev/null"
check "the storage directory is 0700 and the service user's" \
    test "$(stat -c '%a %U' /var/lib/otelcol/supervisor)" = "700 opampsupervisor"
check "the config is readable by the service, not by everyone" \
    test "$(stat -c '%a %U %G' /etc/opampsupervisor/config.yaml)" = "640 root opampsupervisor"
check "the unit is installed and enabled" \
    test -f "$unit" -a -L /etc/systemd/system/multi-user.target.wants/opampsupervisor.service
verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
check "systemd-analyze verify accepts the unit, without a warning" test -z "$verify"
check "the installed binary runs" \
    bash -c "/usr/bin/opampsupervisor --version | grep -qx 'opampsupervisor version [0-9.]*'"
# The service user can read its config; the default names a collector that is not here.
out=$(runuser -u opampsupervisor -- /usr/bin/opampsupervisor validate \
    --config /etc/opampsupervisor/config.yaml 2>&1 || true)
check "the service user reads the config (it names the missing collector)" \
    grep -q 'agent.executable: cannot find "/usr/bin/otelcol-contrib"' <<<"$out"

# With a collector in place, the default config is valid and draws no warning.
sed 's|/usr/bin/otelcol-contrib|/bin/true|; s|/var/lib/otelcol/supervisor|'"$work"'/storage|' \
    /etc/opampsupervisor/config.yaml >defaults.yaml
check "the default config is valid without warnings once the collector exists" bash -c "
    out=\$(/usr/bin/opampsupervisor validate --config defaults.yaml 2>&1) &&
    ! grep -qi warning <<<\"\$out\""

# An upgrade (the same package again) keeps an edited config.
echo "# edited by the test" >>/etc/opampsupervisor/config.yaml
dpkg -i --force-confold "$deb" >>install.log 2>&1 || fail "reinstall"
check "an upgrade keeps the edited config" grep -q "edited by the test" /etc/opampsupervisor/config.yaml

# Remove keeps the config and the data; purge removes everything.
touch /var/lib/otelcol/supervisor/persistent_state.yaml
dpkg -r opampsupervisor >>install.log 2>&1 || fail "dpkg -r"
check "remove takes the binary and the unit" test ! -e /usr/bin/opampsupervisor -a ! -e "$unit"
check "remove keeps the config and the data" \
    test -f /etc/opampsupervisor/config.yaml -a -f /var/lib/otelcol/supervisor/persistent_state.yaml
# Installed again after a remove: the unit is enabled, not left masked.
dpkg -i "$deb" >>install.log 2>&1 || fail "install after remove"
check "a reinstall after remove enables the unit again (not masked)" bash -c "
    test -L /etc/systemd/system/multi-user.target.wants/opampsupervisor.service &&
    ! test -L /etc/systemd/system/opampsupervisor.service"
check "a reinstall keeps the administrator's config" \
    grep -q "edited by the test" /etc/opampsupervisor/config.yaml
dpkg -P opampsupervisor >>install.log 2>&1 || fail "dpkg -P"
check "purge removes the config, the data and the user" bash -c "
    ! test -e /etc/opampsupervisor && ! test -e /var/lib/otelcol &&
    ! getent passwd opampsupervisor >/dev/null &&
    ! test -e /etc/systemd/system/multi-user.target.wants/opampsupervisor.service"
echo "linux packages: all checks passed"
