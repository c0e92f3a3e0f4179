# plugin.sh - DevStack plugin for cyborg-peripherals
#
# stack.sh, unstack.sh and clean.sh source this file in their own shell,
# as "plugin.sh MODE [PHASE]", after the cyborg and zun plugins (see
# plugin_requires in settings): errors go through die, never exit.
#
# DevStack installs every project into one Python environment (the global
# venv, or the system one), so a single install serves both the Cyborg
# agent and zun-compute.

_XTRACE_CYBORG_PERIPHERALS=$(set +o | grep xtrace)
set -o xtrace

CYBORG_PERIPHERALS_SPEC_FILE=openstack.org-peripheral.json

# The plugin rewrites settings that the cyborg and zun plugins write in
# their own post-config phase (zun even recreates zun.conf), so running
# before either of them would silently lose our configuration.
function cyborg_peripherals_check_order {
    local plugin seen=","
    for plugin in ${DEVSTACK_PLUGINS//,/ }; do
        [[ $plugin == cyborg-peripherals ]] && break
        seen+="$plugin,"
    done
    for plugin in cyborg zun; do
        if [[ $seen != *",$plugin,"* ]]; then
            die $LINENO "enable_plugin $plugin before cyborg-peripherals"
        fi
    done
}

# Run our patch series, forward or (with -R) backward, on a scratch copy
# of the files it touches under DIR. Succeeds if every patch applies, so
# DIR itself is never left half-patched.
function _cyborg_peripherals_try_series {
    local dir=$1
    local reverse=${2:-}
    local series=("$CYBORG_PERIPHERALS_DIR"/tools/cyborg-patches/*.patch)
    local scratch paths path i rc=0

    scratch=$(mktemp -d)
    # A repository of its own, so that git apply takes the repository
    # relative paths of the patches relative to the scratch directory.
    git -C "$scratch" init -q
    paths=$(sed -n 's|^diff --git a/[^ ]* b/||p' "${series[@]}" | sort -u)
    for path in $paths; do
        if [[ -e $dir/$path ]]; then
            mkdir -p "$scratch/$(dirname "$path")"
            cp "$dir/$path" "$scratch/$path"
        fi
    done
    for ((i = 0; i < ${#series[@]}; i++)); do
        if [[ -n $reverse ]]; then
            path=${series[${#series[@]} - 1 - i]}
        else
            path=${series[i]}
        fi
        if ! git -C "$scratch" apply $reverse "$path" 2>/dev/null; then
            rc=1
            break
        fi
    done
    rm -rf "$scratch"
    return $rc
}

# Apply the Cyborg patch series (tools/cyborg-patches, git format-patch
# files with repository relative paths) to the checkout the cyborg plugin
# installs with setup_develop. Runs in pre-install, before that install,
# because the series adds a database migration and new modules. Stacking
# again finds the series applied and leaves the checkout alone. git apply
# rather than git am: no commits (and no committer identity) needed, and
# git status shows what was changed.
function apply_cyborg_peripherals_patches {
    local dir=${CYBORG_DIR:-$DEST/cyborg}
    local patch

    if _cyborg_peripherals_try_series "$dir" -R; then
        echo "cyborg-peripherals: patch series already applied in $dir"
        return 0
    fi
    if ! _cyborg_peripherals_try_series "$dir"; then
        die $LINENO "tools/cyborg-patches does not apply to $dir; it is" \
            "made against the Cyborg release pinned in constraints.txt"
    fi
    for patch in "$CYBORG_PERIPHERALS_DIR"/tools/cyborg-patches/*.patch; do
        git -C "$dir" apply "$patch"
        echo "cyborg-peripherals: applied $(basename "$patch") to $dir"
    done
}

function install_cyborg_peripherals {
    setup_develop "$CYBORG_PERIPHERALS_DIR"
}

# Enable peripheral_driver next to the drivers the cyborg plugin enabled
# (CYBORG_ENABLED_DRIVERS) rather than replacing them. The driver writes
# the CDI spec through oslo.privsep's default helper command, "sudo
# privsep-helper", which DevStack already allows: the stack user has
# password-less sudo and privsep-helper is on sudo's path, as for Cyborg's
# own privsep contexts. So [cyborg_peripherals_privileged] stays unset.
function configure_cyborg_peripherals {
    local conf=${CYBORG_CONF:-/etc/cyborg/cyborg.conf}
    local drivers

    drivers=$(iniget "$conf" agent enabled_drivers)
    drivers=${drivers// /}
    if [[ ",$drivers," != *,peripheral_driver,* ]]; then
        iniset "$conf" agent enabled_drivers \
            "${drivers:+$drivers,}peripheral_driver"
    fi
    iniset "$conf" peripherals cdi_spec_dir "$CYBORG_PERIPHERALS_CDI_DIR"
    iniset "$conf" peripherals enabled_classes "$CYBORG_PERIPHERALS_CLASSES"
}

# Zun with our series (tools/zun-patches; ZUN_REPO/ZUN_BRANCH naming a
# checkout that carries it) claims and binds the devices of the
# device_profiles field itself and hands the bound requests to device
# attachers: Zun's own Docker driver with our "oci" attacher, which only
# needs the CDI spec directory. Stock Zun has no attachers: the docker_oci
# driver claims and binds the devices of the label itself, so zun-compute
# uses the zun service user that the zun plugin creates
# (create_service_user gives it the service role Cyborg requires for
# binding). Zun's default Docker API version (1.26) is enough for both, so
# [docker] docker_remote_api_version is left alone.
function _cyborg_peripherals_zun_has_attachers {
    [[ -f ${ZUN_DIR:-$DEST/zun}/zun/container/docker/device_attacher.py ]]
}

function configure_zun_oci_attach {
    local conf=${ZUN_CONF:-/etc/zun/zun.conf}
    local section=oci_attach_cyborg

    iniset "$conf" oci_attach cdi_spec_dir "$CYBORG_PERIPHERALS_CDI_DIR"
    if _cyborg_peripherals_zun_has_attachers; then
        iniset "$conf" DEFAULT container_driver docker
        iniset "$conf" docker device_attachers oci
        return
    fi
    iniset "$conf" DEFAULT container_driver docker_oci
    iniset "$conf" $section auth_type password
    iniset "$conf" $section auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf" $section username zun
    iniset "$conf" $section password "$SERVICE_PASSWORD"
    iniset "$conf" $section project_name "$SERVICE_PROJECT_NAME"
    iniset "$conf" $section user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf" $section project_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf" $section region_name "$REGION_NAME"
    iniset "$conf" $section cafile "$SSL_BUNDLE_FILE"
}

# Placement retries a claim that lost a provider generation race inside
# the same transaction, and that retry can give one device to two
# containers (releasenotes: zun-series-concurrent-creates).  Without the
# retry, Placement answers 409 and Zun's scheduler claims again in a new
# request.
function configure_cyborg_peripherals_placement {
    iniset "$PLACEMENT_CONF" placement allocation_conflict_retry_count 1
}

# One device profile per class, named after it: "--device-profile camera"
# then asks for any camera. Profiles that exist already are kept.
function create_cyborg_peripherals_device_profiles {
    local existing cls rc

    # The cyborg plugin has only just started cyborg-api.
    if ! wait_for_service "$SERVICE_TIMEOUT" "$CYBORG_API_URL"; then
        die $LINENO "cyborg-api did not start"
    fi
    existing=$(openstack --os-cloud devstack-admin \
        accelerator device profile list -f value -c name)
    for cls in ${CYBORG_PERIPHERALS_CLASSES//,/ }; do
        if grep -qx "$cls" <<< "$existing"; then
            continue
        fi
        # The resource class the driver reports: see naming.resource_class.
        rc=CUSTOM_PERIPHERAL_${cls^^}
        rc=${rc//[^A-Z0-9_]/_}
        # Groups as a JSON argument: the form both python-cyborgclient and
        # python-openstackclient accept.
        openstack --os-cloud devstack-admin \
            accelerator device profile create "$cls" \
            "[{\"resources:$rc\": \"1\"}]"
    done
}

# A spec left behind would keep describing devices to container runtimes
# after Cyborg is gone.
function cleanup_cyborg_peripherals {
    sudo rm -f "$CYBORG_PERIPHERALS_CDI_DIR/$CYBORG_PERIPHERALS_SPEC_FILE"
}

case "$1" in
    stack)
        case "$2" in
            pre-install)
                cyborg_peripherals_check_order
                if [[ $CYBORG_PERIPHERALS_PATCH_CYBORG == True ]]; then
                    apply_cyborg_peripherals_patches
                fi
                ;;
            install)
                install_cyborg_peripherals
                ;;
            post-config)
                if is_service_enabled placement-api; then
                    configure_cyborg_peripherals_placement
                fi
                if is_service_enabled cyborg-agent; then
                    configure_cyborg_peripherals
                fi
                if is_service_enabled zun-compute; then
                    configure_zun_oci_attach
                fi
                ;;
            extra)
                if is_service_enabled cyborg-api && \
                        [[ $CYBORG_PERIPHERALS_DEVICE_PROFILES == True ]]; then
                    create_cyborg_peripherals_device_profiles
                fi
                ;;
        esac
        ;;
    unstack)
        # Nothing runs on its own: the driver lives in the Cyborg agent
        # and the container driver in zun-compute, which their plugins
        # stop.
        :
        ;;
    clean)
        cleanup_cyborg_peripherals
        ;;
esac

$_XTRACE_CYBORG_PERIPHERALS
