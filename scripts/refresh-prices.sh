#!/usr/bin/env bash
# Refreshes the on-demand and spot prices of the instance catalogs: instances/aws.toml with the
# AWS CLI, or instances/{aws,gcp,azure}.toml from a SkyPilot catalog directory. Run with --help
# for the details.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/refresh-prices.sh [--catalog FILE] [--out FILE] [--date YYYY-MM-DD]
       scripts/refresh-prices.sh --skypilot-catalog DIR [--instances DIR] [--date YYYY-MM-DD]

Refreshes the prices of an AWS instance catalog (us-east-1, Linux, shared tenancy) with the
AWS CLI, which must have credentials allowed pricing:GetProducts and
ec2:DescribeSpotPriceHistory:

  on demand  aws pricing get-products --region us-east-1 --service-code AmazonEC2
             (location "US East (N. Virginia)", Linux, Shared, preInstalledSw NA,
             capacitystatus Used, marketoption OnDemand)
  spot       aws ec2 describe-spot-price-history --region us-east-1 (Linux/UNIX, last 24 h);
             the highest price in any zone is kept, spot_sampled gives the range

For every [[instance]] of the catalog it rewrites price_usd_per_hour, spot_usd_per_hour,
spot_sampled, price_date and source, line by line: every other key and every comment stays as
it is. An instance type the pricing API no longer prices (a retired one) keeps its old values,
with a warning on stderr; so does the spot price of a type without spot price history. The
output is written to a temporary file and moved into place only when everything succeeded.

With --skypilot-catalog DIR it reads SkyPilot's price catalogs instead, DIR/aws/vms.csv,
DIR/gcp/vms.csv and DIR/azure/vms.csv (e.g. ~/.sky/catalogs/v8, which `sky` downloads and
refreshes every few hours; any of the three may be missing), and rewrites instances/aws.toml,
gcp.toml and azure.toml the same way, for the region each instance lists: the highest zone's
on-demand price, the highest spot price (spot_sampled gives the range), source [SKY-A],
[SKY-G] or [SKY-Z], and as price_date the date vms.csv was downloaded (its modification time,
UTC) unless --date is given. A GCP entry named VM+GPU (n1-standard-4+t4) and any GCP entry with
a GPU is priced as SkyPilot prices it: the host VM's row plus the GPU rows (empty
InstanceType, AcceleratorName, AcceleratorCount). Instances the catalog lacks keep their old
values, with a warning. Every file is written to a temporary file first and all are moved into
place only when all of them worked.

Options:
  --catalog FILE     the catalog to read (default: instances/aws.toml of this checkout)
  --out FILE         where to write the refreshed catalog (default: overwrite the catalog)
  --date YYYY-MM-DD  the price_date to record (default: today, UTC; with --skypilot-catalog
                     the date of each vms.csv)
  --skypilot-catalog DIR  SkyPilot mode: refresh from DIR/{aws,gcp,azure}/vms.csv
  --instances DIR    SkyPilot mode: the folder of aws.toml, gcp.toml, azure.toml
                     (default: instances/ of this checkout)
  -h, --help         this text

Environment:
  AWS_CLI            the aws executable to run (default: aws)
  AWS_PROFILE etc.   as the AWS CLI reads them

Example:
  AWS_PROFILE=pricing scripts/refresh-prices.sh --out /tmp/aws.toml
  diff instances/aws.toml /tmp/aws.toml && mv /tmp/aws.toml instances/aws.toml
  sky show-gpus >/dev/null   # makes sky download fresh catalogs
  scripts/refresh-prices.sh --skypilot-catalog ~/.sky/catalogs/v8 && git diff instances/
EOF
}

die() {
    echo "refresh-prices: $*" >&2
    exit 1
}

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# refresh_prices.py is imported from scripts/; no __pycache__ left in the checkout.
export PYTHONDONTWRITEBYTECODE=1
catalog="$here/../instances/aws.toml"
out=""
price_date=""
sky_catalog=""
instances=""
catalog_given=0

while [ $# -gt 0 ]; do
    case "$1" in
    --catalog | --out | --date | --skypilot-catalog | --instances)
        [ $# -ge 2 ] || { echo "refresh-prices: $1 needs a value" >&2; exit 2; }
        case "$1" in
        --catalog) catalog=$2; catalog_given=1 ;;
        --out) out=$2 ;;
        --date) price_date=$2 ;;
        --skypilot-catalog) sky_catalog=$2 ;;
        --instances) instances=$2 ;;
        esac
        shift 2
        ;;
    --catalog=*) catalog=${1#*=}; catalog_given=1; shift ;;
    --out=*) out=${1#*=}; shift ;;
    --date=*) price_date=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *)
        echo "refresh-prices: unknown argument: $1" >&2
        usage >&2
        exit 2
        ;;
    esac
done

if [ -n "$price_date" ] && { ! [[ $price_date =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] ||
    ! python3 -c 'import datetime, sys; datetime.date.fromisoformat(sys.argv[1])' "$price_date" 2>/dev/null; }; then
    echo "refresh-prices: --date wants a date as YYYY-MM-DD, not $price_date" >&2
    exit 2
fi
command -v python3 >/dev/null || die "python3 is needed"

if [ -n "$sky_catalog" ]; then
    if [ "$catalog_given" -eq 1 ] || [ -n "$out" ]; then
        echo "refresh-prices: --skypilot-catalog refreshes --instances DIR in place; --catalog and --out are for the AWS CLI mode" >&2
        exit 2
    fi
    [ -d "$sky_catalog" ] || { echo "refresh-prices: --skypilot-catalog $sky_catalog is not a directory" >&2; exit 2; }
    [ -n "$instances" ] || instances="$here/../instances"
    [ -d "$instances" ] || { echo "refresh-prices: --instances $instances is not a directory" >&2; exit 2; }
    exec env PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" \
        python3 "$here/refresh_prices.py" skypilot "$sky_catalog" "$instances" "$price_date"
fi
if [ -n "$instances" ]; then
    echo "refresh-prices: --instances is for --skypilot-catalog" >&2
    exit 2
fi
[ -n "$out" ] || out=$catalog
[ -n "$price_date" ] || price_date=$(date -u +%Y-%m-%d)

aws=${AWS_CLI:-aws}
command -v "$aws" >/dev/null || die "no AWS CLI: $aws not found (set AWS_CLI to name it)"
if ! [ -f "$catalog" ] || ! [ -r "$catalog" ]; then die "cannot read the catalog $catalog"; fi
[ -d "$(dirname -- "$out")" ] || die "the directory of $out does not exist"

# The AWS CLI v2 would page long output through `less`; this keeps it on the pipe.
export AWS_PAGER=""

work=$(mktemp -d)
tmp_out=""
cleanup() {
    rm -rf -- "$work"
    if [ -n "$tmp_out" ]; then rm -f -- "$tmp_out"; fi
}
trap cleanup EXIT

# The catalog's aws instances, one "name<TAB>region" a line.
python3 - "$catalog" >"$work/names.tsv" <<'PY'
import re, sys, tomllib

path = sys.argv[1]
try:
    with open(path, "rb") as f:
        data = tomllib.load(f)
except (OSError, tomllib.TOMLDecodeError) as e:
    sys.exit(f"refresh-prices: {path}: {e}")
for inst in data.get("instance", []):
    if inst.get("provider") != "aws":
        continue
    name = inst.get("name", "")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name):
        sys.exit(f"refresh-prices: {path}: odd instance name {name!r}")
    print(f"{name}\t{inst.get('region', '')}")
PY

start=$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) - d.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))')

n=0
while IFS=$'\t' read -r name region; do
    n=$((n + 1))
    if [ "$region" != "us-east-1" ]; then
        echo "refresh-prices: warning: $name is in region '$region', only us-east-1 is priced; keeping its values" >&2
        continue
    fi
    echo "$name" >"$work/$n.name"
    echo "refresh-prices: $name" >&2
    "$aws" pricing get-products --region us-east-1 --service-code AmazonEC2 --output json \
        --filters \
        "Type=TERM_MATCH,Field=instanceType,Value=$name" \
        "Type=TERM_MATCH,Field=location,Value=US East (N. Virginia)" \
        "Type=TERM_MATCH,Field=operatingSystem,Value=Linux" \
        "Type=TERM_MATCH,Field=tenancy,Value=Shared" \
        "Type=TERM_MATCH,Field=preInstalledSw,Value=NA" \
        "Type=TERM_MATCH,Field=capacitystatus,Value=Used" \
        "Type=TERM_MATCH,Field=marketoption,Value=OnDemand" \
        </dev/null >"$work/$n.pricing.json" ||
        die "aws pricing get-products failed for $name; nothing written"
    # A type the pricing API no longer knows is retired: EC2 may reject it, so skip its spot query.
    if python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])).get("PriceList") else 1)' \
        "$work/$n.pricing.json" 2>/dev/null; then
        "$aws" ec2 describe-spot-price-history --region us-east-1 --output json \
            --instance-types "$name" --product-descriptions "Linux/UNIX" --start-time "$start" \
            </dev/null >"$work/$n.spot.json" ||
            die "aws ec2 describe-spot-price-history failed for $name; nothing written"
    fi
done <"$work/names.tsv"

tmp_out=$(mktemp "$(dirname -- "$out")/.refresh-prices.XXXXXX")

# Rewrites the catalog line by line into $tmp_out, then checks the result parses to the old
# catalog with only the price keys changed.
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" python3 - "$catalog" "$tmp_out" "$work" "$price_date" "$out" <<'PY'
import glob, json, os, sys

import refresh_prices
from refresh_prices import D, fmt, warn

catalog, tmp_out, work, date, out = sys.argv[1:]


def on_demand(path, name):
    """The on-demand USD/hour of `name` from a get-products answer, or None."""
    with open(path) as f:
        answer = json.load(f)
    prices = set()
    for item in answer.get("PriceList", []):
        product = json.loads(item) if isinstance(item, str) else item
        attrs = product.get("product", {}).get("attributes", {})
        if attrs.get("instanceType", name) != name:
            continue
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dim in term.get("priceDimensions", {}).values():
                usd = dim.get("pricePerUnit", {}).get("USD")
                if usd is not None and D(usd) > 0:
                    prices.add(D(usd))
    if len(prices) > 1:
        warn(f"{name}: several on-demand prices {sorted(map(fmt, prices))}; keeping the old values")
        return None
    return prices.pop() if prices else None


def spot(path, name):
    """(highest, lowest, zones) of `name`'s Linux spot prices, or None without history."""
    with open(path) as f:
        answer = json.load(f)
    prices, zones = [], set()
    for e in answer.get("SpotPriceHistory", []):
        if e.get("InstanceType", name) != name:
            continue
        if e.get("ProductDescription", "Linux/UNIX") != "Linux/UNIX":
            continue
        prices.append(D(e["SpotPrice"]))
        zones.add(e.get("AvailabilityZone", "?"))
    if not prices:
        return None
    return max(prices), min(prices), len(zones)


# New values per instance name.
updates = {}
for name_file in sorted(glob.glob(os.path.join(work, "*.name"))):
    base = name_file[: -len(".name")]
    with open(name_file) as f:
        name = f.read().strip()
    price = on_demand(base + ".pricing.json", name)
    if price is None:
        warn(f"{name}: the AWS pricing API has no on-demand price (retired?); keeping its old values")
        continue
    new = {
        "price_usd_per_hour": fmt(price),
        "price_date": f'"{date}"',
        "source": '"[AWS-CLI]"',
    }
    s = spot(base + ".spot.json", name) if os.path.exists(base + ".spot.json") else None
    if s is None:
        warn(f"{name}: no Linux/UNIX spot price history in the last 24 h; keeping its old spot values")
    else:
        hi, lo, zones = s
        new["spot_usd_per_hour"] = fmt(hi)
        new["spot_sampled"] = (
            f'"{fmt(lo)}-{fmt(hi)} [describe-spot-price-history, 24 h, '
            f'{zones} zone{"" if zones == 1 else "s"}]"'
        )
        new["source"] = '"[AWS-CLI]"'
    updates[name] = new
    print(
        f"refresh-prices: {name}: on demand {new['price_usd_per_hour']}"
        + (f", spot {new['spot_usd_per_hour']}" if "spot_usd_per_hour" in new else ""),
        file=sys.stderr,
    )

refresh_prices.rewrite(catalog, tmp_out, updates, out)
PY

mv -f -- "$tmp_out" "$out"
tmp_out=""
echo "refresh-prices: wrote $out" >&2
