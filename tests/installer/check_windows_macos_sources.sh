#!/usr/bin/env bash
# Checks the Windows and macOS installer sources as far as Linux can:
#   check_windows_macos_sources.sh REPO_ROOT [OPAMPSUPERVISOR]
#
# - every .xml, .wxs, .plist and .plist.in under installer/windows and installer/macos is
#   well-formed XML (xmllint);
# - the launchd job, with its @...@ paths filled in as cmake/PackagingMacos.cmake fills them,
#   parses as a property list (plistutil) and has the keys the daemon relies on;
# - installer/windows/opampsupervisor-wixl.wxs builds an MSI with wixl (a dummy exe and the
#   default config), whose ServiceInstall, ServiceControl, Upgrade, Directory and CreateFolder
#   rows are the intended ones; the msibuild step in that file's header adds the data folder's
#   ACL and the config component's bits;
# - wix-patch.xml (what CPack's MSI gets) and the wixl source agree on the service, the
#   ACL, the folder's component GUID, the upgrade GUID and the install folder;
# - the preinstall and postinstall scripts pass `sh -n`;
# - with OPAMPSUPERVISOR (a built opampsupervisor), both default configs pass
#   `opampsupervisor validate` once their machine paths point at temporary files.
#
# Not checked, because it needs Windows or macOS: CPack's own WiX sources and candle/light
# (the patch file is checked as XML and against the wixl source only), the MSI's behaviour
# when installed (SCM, ACLs, upgrades), productbuild/pkgbuild, and launchd/launchctl.
#
# Needs the Debian packages wixl, msitools (msiinfo, msibuild), libplist-utils (plistutil)
# and libxml2-utils (xmllint). Prints one line per check and stops at the first failure
# with a non-zero status.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 REPO_ROOT [OPAMPSUPERVISOR]" >&2
    exit 2
fi
root=$(cd "$1" && pwd)
supervisor=${2:-}
win="$root/installer/windows"
mac="$root/installer/macos"
wxs="$win/opampsupervisor-wixl.wxs"
patch="$win/wix-patch.xml"
plist_in="$mac/io.opentelemetry.opampsupervisor.plist.in"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { printf 'ok    %s\n' "$1"; }
fail() {
    printf 'FAIL  %s\n' "$1"
    if [ $# -gt 1 ] && [ -n "$2" ]; then
        printf '%s\n' "$2" | sed 's/^/      /'
    fi
    exit 1
}
# check DESCRIPTION COMMAND...: runs the command, shows its output only when it fails.
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$what"; else fail "$what" "$out"; fi
}
# same WHAT ACTUAL EXPECTED
same() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got:      '$2'"$'\n'"expected: '$3'"; fi
}
# xp FILE XPATH: the XPath expression's string value ("" when nothing matches).
xp() { xmllint --xpath "string($2)" "$1" 2>/dev/null || true; }
# Element by local name, so that the WiX default namespace does not matter.
el() { printf "//*[local-name()='%s']" "$1"; }
# table MSI TABLE: the table's rows without msiinfo's three header lines.
table() { msiinfo export "$1" "$2" | tail -n +4 | tr -d '\r'; }

for tool in xmllint plistutil wixl msiinfo msibuild; do
    command -v "$tool" >/dev/null || fail "tool $tool is installed" \
        "install the Debian packages wixl msitools libplist-utils libxml2-utils"
done
pass "tools: xmllint plistutil wixl msiinfo msibuild"

# --- Well-formed XML ----------------------------------------------------------------------
mapfile -t xml_files < <(find "$win" "$mac" -type f \
    \( -name '*.xml' -o -name '*.wxs' -o -name '*.plist' -o -name '*.plist.in' \) | sort)
[ ${#xml_files[@]} -ge 3 ] || fail "XML sources found" "only: ${xml_files[*]}"
for f in "${xml_files[@]}"; do
    check "well-formed XML: ${f#"$root"/}" xmllint --noout "$f"
done

# --- The launchd job ----------------------------------------------------------------------
# Every @NAME@ of the .in files must be a variable PackagingMacos.cmake sets.
for f in "$plist_in" "$mac/postinstall.in"; do
    for var in $(grep -o '@[A-Za-z0-9_]*@' "$f" | tr -d @ | sort -u); do
        grep -q "set($var " "$root/cmake/PackagingMacos.cmake" ||
            fail "@$var@ in ${f#"$root"/} is set by cmake/PackagingMacos.cmake"
    done
done
pass "every @VAR@ of the macOS .in files is set by cmake/PackagingMacos.cmake"

# Sample values as PackagingMacos.cmake computes them for the prefix /usr/local.
fill() {
    sed -e 's|@OPAMPSUP_MACOS_BINDIR@|/usr/local/bin|g' \
        -e 's|@OPAMPSUP_MACOS_CONFDIR@|/usr/local/etc/opampsupervisor|g' \
        -e 's|@OPAMPSUP_MACOS_SHAREDIR@|/usr/local/share/opampsupervisor|g' "$1"
}
fill "$plist_in" >"$tmp/job.plist"
if grep -q '@[A-Za-z0-9_]*@' "$tmp/job.plist"; then
    fail "no placeholder left in the filled-in plist" "$(grep '@' "$tmp/job.plist")"
fi
check "plist parses (plistutil, XML to binary)" plistutil -i "$tmp/job.plist" -o "$tmp/job.bin"
# Back to XML from the binary form: what plistutil understood, comments and layout gone.
check "plist converts back to XML" plistutil -i "$tmp/job.bin" -o "$tmp/job.xml"
job="$tmp/job.xml"
value() { printf "/plist/dict/key[.='%s']/following-sibling::*[1]" "$1"; }
same "plist Label" "$(xp "$job" "$(value Label)")" "io.opentelemetry.opampsupervisor"
same "plist ProgramArguments" \
    "$(xmllint --xpath "$(value ProgramArguments)/string" "$job" 2>/dev/null | tr -d '\n')" \
    "<string>/usr/local/bin/opampsupervisor</string><string>--config</string><string>/usr/local/etc/opampsupervisor/config.yaml</string>"
same "plist RunAtLoad is true" "$(xp "$job" "name($(value RunAtLoad))")" "true"
same "plist KeepAlive restarts only after a failed exit (SuccessfulExit false)" \
    "$(xp "$job" "name($(value KeepAlive)/key[.='SuccessfulExit']/following-sibling::*[1])")" "false"
same "plist ExitTimeOut is 60" "$(xp "$job" "$(value ExitTimeOut)[self::integer]")" "60"
same "plist ProcessType" "$(xp "$job" "$(value ProcessType)")" "Standard"
same "plist WorkingDirectory is the storage directory" \
    "$(xp "$job" "$(value WorkingDirectory)")" "/var/lib/otelcol/supervisor"
for key in StandardOutPath StandardErrorPath; do
    same "plist $key" "$(xp "$job" "$(value $key)")" \
        "/Library/Logs/opampsupervisor/opampsupervisor.log"
done
same "macOS config's storage is the job's working directory" \
    "$(sed -n 's/^  directory: *//p' "$mac/config.yaml")" "/var/lib/otelcol/supervisor"

# --- Shell scripts ------------------------------------------------------------------------
check "sh -n installer/macos/preinstall" sh -n "$mac/preinstall"
fill "$mac/postinstall.in" >"$tmp/postinstall"
check "sh -n installer/macos/postinstall.in (filled in)" sh -n "$tmp/postinstall"
# shellcheck disable=SC2016 # the script's own text, $root unexpanded
check "postinstall makes the storage directory the job starts in" \
    grep -qF 'storage="$root/var/lib/otelcol/supervisor"' "$tmp/postinstall"

# --- wix-patch.xml against the wixl source ------------------------------------------------
same "wix-patch.xml fragment ids" \
    "$(xmllint --xpath '//CPackWiXFragment/@Id' "$patch" 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')" \
    'Id="CM_CP_bin.opampsupervisor.exe" Id="#PRODUCT" Id="#PRODUCTFEATURE"'
for attr in Name DisplayName Description Type Start ErrorControl Vital Arguments; do
    same "ServiceInstall/@$attr is the same for CPack and wixl" \
        "$(xp "$wxs" "$(el ServiceInstall)/@$attr")" "$(xp "$patch" "$(el ServiceInstall)/@$attr")"
done
for id in SupervisorServiceStop SupervisorServiceStart; do
    for attr in Name Start Stop Remove Wait; do
        same "ServiceControl $id/@$attr is the same for CPack and wixl" \
            "$(xp "$wxs" "$(el ServiceControl)[@Id='$id']/@$attr")" \
            "$(xp "$patch" "$(el ServiceControl)[@Id='$id']/@$attr")"
    done
done
same "wix-patch.xml restarts the service after a failure (util:ServiceConfig)" \
    "$(xp "$patch" "count(//*[local-name()='ServiceConfig' and namespace-uri()='http://schemas.microsoft.com/wix/UtilExtension' and @FirstFailureActionType='restart'])")" "1"
sddl=$(xp "$patch" "$(el PermissionEx)/@Sddl")
same "wix-patch.xml data folder SDDL: protected, SYSTEM and Administrators only" \
    "$sddl" "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
same "the data folder's component GUID is the same for CPack and wixl" \
    "$(xp "$wxs" "$(el Component)[@Id='SupervisorDataFolder']/@Guid")" \
    "$(xp "$patch" "$(el Component)[@Id='SupervisorDataFolder']/@Guid")"
cmake_guid=$(sed -n 's/^set(CPACK_WIX_UPGRADE_GUID "\([0-9A-F-]*\)")$/\1/p' "$root/cmake/PackagingWindows.cmake")
same "upgrade GUID is the same in PackagingWindows.cmake and the wixl source" \
    "$(xp "$wxs" "$(el Product)/@UpgradeCode")" "$cmake_guid"
install_dir=$(sed -n 's/^set(CPACK_PACKAGE_INSTALL_DIRECTORY "\(.*\)")$/\1/p' "$root/cmake/PackagingWindows.cmake")
same "install folder is the same in PackagingWindows.cmake and the wixl source" \
    "$(xp "$wxs" "$(el Directory)[@Id='INSTALL_ROOT']/@Name")" "$install_dir"

# --- The MSI built by wixl ----------------------------------------------------------------
# wixl 0.101 finds Source files by paths relative to the current directory only.
mkdir "$tmp/msi"
printf 'not a real exe\n' >"$tmp/msi/opampsupervisor.exe"
cp "$win/config.yaml" "$tmp/msi/config.yaml"
msi="$tmp/msi/opampsupervisor.msi"
build_msi() {
    (cd "$tmp/msi" && wixl -a x64 -D Exe=opampsupervisor.exe -D Config=config.yaml \
        -D Version=0.1.0 -o opampsupervisor.msi "$wxs")
}
check "wixl builds the MSI" build_msi

service=$(table "$msi" ServiceInstall | awk -F'\t' '$2 == "opampsupervisor"')
[ -n "$service" ] || fail "MSI ServiceInstall has a row for opampsupervisor" \
    "$(msiinfo export "$msi" ServiceInstall)"
pass "MSI ServiceInstall has a row for opampsupervisor"
# column N of the service's row (awk: a tab split keeps the empty columns, read does not)
column() { awk -F'\t' -v n="$1" '{ print $n }' <<<"$service"; }
same "MSI service display name" "$(column 3)" "OpenTelemetry Collector OpAMP Supervisor"
same "MSI service type is own process (16)" "$(column 4)" "16"
same "MSI service start type is auto (2)" "$(column 5)" "2"
same "MSI service arguments" "$(column 11)" '--config "[INSTALL_ROOT]config.yaml"'
same "MSI service belongs to the exe's component" "$(column 12)" "SupervisorExe"
same "MSI ServiceControl rows (Id, Event, Wait): stop+remove waits, start does not" \
    "$(table "$msi" ServiceControl | awk -F'\t' '$2 == "opampsupervisor" { print $1, $3, $5 }' | sort | tr '\n' ';')" \
    "SupervisorServiceStart 1 0;SupervisorServiceStop 162 1;"
same "MSI upgrade code" \
    "$(table "$msi" Property | awk -F'\t' '$1 == "UpgradeCode" { print $2 }')" "{$cmake_guid}"
same "MSI replaces older versions (Upgrade row)" \
    "$(table "$msi" Upgrade | awk -F'\t' '$7 == "WIX_UPGRADE_DETECTED" { print $1 }')" "{$cmake_guid}"
same "MSI files: the exe and config.yaml, each in its own component" \
    "$(table "$msi" File | awk -F'\t' '{ print $1, $2 }' | sort | tr '\n' ';')" \
    "config.yaml SupervisorConfig;opampsupervisor.exe SupervisorExe;"
same "MSI exe goes to <install folder>\\bin" \
    "$(table "$msi" Directory | awk -F'\t' '$1 == "INSTALL_BIN" { print $2, $3 }')" "INSTALL_ROOT bin"
same "MSI creates ProgramData\\Otelcol\\Supervisor" \
    "$(table "$msi" Directory | awk -F'\t' '$1 == "SUPERVISOR_DATA" || $1 == "OTELCOL_DATA" { print $2, $3 }' | sort | tr '\n' ';')" \
    "CommonAppDataFolder Otelcol;OTELCOL_DATA Supervisor;"
same "MSI CreateFolder row for the data folder" \
    "$(table "$msi" CreateFolder | awk -F'\t' '{ print $1, $2 }')" "SUPERVISOR_DATA SupervisorDataFolder"

# The msibuild step documented in the wixl source, with the SDDL taken from wix-patch.xml.
check "msibuild adds the ACL, the config's Permanent/NeverOverwrite and the service's Vital bit" \
    msibuild "$msi" \
    -q "CREATE TABLE \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\` CHAR(72) NOT NULL, \`LockObject\` CHAR(72) NOT NULL, \`Table\` CHAR(32) NOT NULL, \`SDDLText\` LONGCHAR NOT NULL, \`Condition\` CHAR(255) PRIMARY KEY \`MsiLockPermissionsEx\`)" \
    -q "INSERT INTO \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\`, \`LockObject\`, \`Table\`, \`SDDLText\`) VALUES ('SupervisorDataAcl', 'SUPERVISOR_DATA', 'CreateFolder', '$sddl')" \
    -q "UPDATE \`Component\` SET \`Attributes\` = 400 WHERE \`Component\` = 'SupervisorConfig'" \
    -q "UPDATE \`ServiceInstall\` SET \`ErrorControl\` = 32769 WHERE \`ServiceInstall\` = 'SupervisorService'"
same "MSI data folder ACL (MsiLockPermissionsEx)" \
    "$(table "$msi" MsiLockPermissionsEx | awk -F'\t' '{ print $2, $3, $4 }')" "SUPERVISOR_DATA CreateFolder $sddl"
same "MSI config component: 64-bit, Permanent, NeverOverwrite (256+16+128)" \
    "$(table "$msi" Component | awk -F'\t' '$1 == "SupervisorConfig" { print $4 }')" "400"
same "MSI service is Vital (32768+1)" \
    "$(table "$msi" ServiceInstall | awk -F'\t' '$2 == "opampsupervisor" { print $6 }')" "32769"

# --- Default configs ----------------------------------------------------------------------
same "Windows config: agent.executable" \
    "$(sed -n 's/^  executable: *//p' "$win/config.yaml")" \
    "'C:\\Program Files\\OpenTelemetry Collector\\otelcol-contrib.exe'"
same "Windows config: storage.directory" \
    "$(sed -n 's/^  directory: *//p' "$win/config.yaml")" "'C:\\ProgramData\\Otelcol\\Supervisor'"

if [ -n "$supervisor" ]; then
    # validate checks that agent.executable exists; point the machine paths at temp files.
    mkdir "$tmp/validate"
    printf '#!/bin/sh\n' >"$tmp/validate/otelcol"
    chmod +x "$tmp/validate/otelcol"
    for os in windows macos; do
        sed -e "s|^  executable: .*|  executable: $tmp/validate/otelcol|" \
            -e "s|^  directory: .*|  directory: $tmp/validate/storage|" \
            -e "s|^    output_paths: \['C:.*|    output_paths: [$tmp/validate/supervisor.log]|" \
            "$root/installer/$os/config.yaml" >"$tmp/validate/$os.yaml"
        check "opampsupervisor validate installer/$os/config.yaml (machine paths replaced)" \
            "$supervisor" validate --config "$tmp/validate/$os.yaml"
        if "$supervisor" validate --config "$tmp/validate/$os.yaml" 2>&1 | grep -q '^warning:'; then
            fail "installer/$os/config.yaml has no warnings" \
                "$("$supervisor" validate --config "$tmp/validate/$os.yaml" 2>&1)"
        fi
        pass "installer/$os/config.yaml has no warnings"
    done
fi

echo "all checks passed"
