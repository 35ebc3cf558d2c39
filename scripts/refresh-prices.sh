#!/usr/bin/env bash
# Refreshes the on-demand and spot prices of the AWS instance catalog (instances/aws.toml) with
# the AWS CLI. Run with --help for the details.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/refresh-prices.sh [--catalog FILE] [--out FILE] [--date YYYY-MM-DD]

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

Options:
  --catalog FILE     the catalog to read (default: instances/aws.toml of this checkout)
  --out FILE         where to write the refreshed catalog (default: overwrite the catalog)
  --date YYYY-MM-DD  the price_date to record (default: today, UTC)
  -h, --help         this text

Environment:
  AWS_CLI            the aws executable to run (default: aws)
  AWS_PROFILE etc.   as the AWS CLI reads them

Example:
  AWS_PROFILE=pricing scripts/refresh-prices.sh --out /tmp/aws.toml
  diff instances/aws.toml /tmp/aws.toml && mv /tmp/aws.toml instances/aws.toml
EOF
}

die() {
    echo "refresh-prices: $*" >&2
    exit 1
}

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
catalog="$here/../instances/aws.toml"
out=""
price_date=""

while [ $# -gt 0 ]; do
    case "$1" in
    --catalog | --out | --date)
        [ $# -ge 2 ] || { echo "refresh-prices: $1 needs a value" >&2; exit 2; }
        case "$1" in
        --catalog) catalog=$2 ;;
        --out) out=$2 ;;
        --date) price_date=$2 ;;
        esac
        shift 2
        ;;
    --catalog=*) catalog=${1#*=}; shift ;;
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

[ -n "$out" ] || out=$catalog
if [ -z "$price_date" ]; then
    price_date=$(date -u +%Y-%m-%d)
elif ! [[ $price_date =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] ||
    ! python3 -c 'import datetime, sys; datetime.date.fromisoformat(sys.argv[1])' "$price_date" 2>/dev/null; then
    echo "refresh-prices: --date wants a date as YYYY-MM-DD, not $price_date" >&2
    exit 2
fi

aws=${AWS_CLI:-aws}
command -v python3 >/dev/null || die "python3 is needed"
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
python3 - "$catalog" "$tmp_out" "$work" "$price_date" "$out" <<'PY'
import decimal, glob, json, os, re, shutil, sys, tomllib

catalog, tmp_out, work, date, out = sys.argv[1:]
D = decimal.Decimal


def warn(msg):
    print(f"refresh-prices: warning: {msg}", file=sys.stderr)


def fail(msg):
    sys.exit(f"refresh-prices: {msg}; nothing written")


def fmt(d):
    """A Decimal as a TOML float: 0.5260000000 -> 0.526, 12 -> 12.0."""
    s = format(d.normalize(), "f")
    return s if "." in s else s + ".0"


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
        "source": '"aws pricing get-products"',
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
        new["source"] = '"aws pricing get-products / describe-spot-price-history"'
    updates[name] = new
    print(
        f"refresh-prices: {name}: on demand {new['price_usd_per_hour']}"
        + (f", spot {new['spot_usd_per_hour']}" if "spot_usd_per_hour" in new else ""),
        file=sys.stderr,
    )

# The catalog's keys in their usual order; a key that is missing is inserted after the last
# present key that comes before it.
ORDER = [
    "name", "provider", "region", "vcpu", "ram_gib", "gpu", "gpu_count", "gpu_mem_gib",
    "price_usd_per_hour", "spot_usd_per_hour", "spot_sampled", "price_date", "source",
    "status", "note",
]
KEY_LINE = re.compile(
    r'^(?P<lead>\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*)'
    r'(?P<value>"(?:[^"\\]|\\.)*"|[^\s#]+)'
    r'(?P<tail>\s*(?:#.*)?)$'
)
TABLE = re.compile(r"^\s*\[")

with open(catalog, encoding="utf-8") as f:
    text = f.read()
lines = text.splitlines(keepends=True)
if lines and not lines[-1].endswith("\n"):
    lines[-1] += "\n"


def rewrite(block):
    """Rewrites one [[instance]] block (a list of lines) in place."""
    keys = {}
    for i, line in enumerate(block):
        m = KEY_LINE.match(line.rstrip("\r\n"))
        if m:
            keys[m["key"]] = i
    if "name" not in keys:
        return block
    name = tomllib.loads(block[keys["name"]].strip())["name"]
    new = updates.get(name)
    if new is None:
        return block
    for key in ORDER:
        if key not in new:
            continue
        if key in keys:
            line = block[keys[key]]
            body = line.rstrip("\r\n")
            m = KEY_LINE.match(body)
            block[keys[key]] = m["lead"] + new[key] + m["tail"] + line[len(body):]
        else:
            before = [k for k in ORDER[: ORDER.index(key)] if k in keys]
            at = keys[before[-1]] + 1 if before else 1
            block.insert(at, f"{key} = {new[key]}\n")
            keys = {k: (i + 1 if i >= at else i) for k, i in keys.items()}
            keys[key] = at
    return block


result, block = [], None
for line in lines:
    if TABLE.match(line):
        if block is not None:
            result += rewrite(block)
        if line.strip() == "[[instance]]":
            block = [line]
            continue
        block = None
    if block is not None:
        block.append(line)
    else:
        result.append(line)
if block is not None:
    result += rewrite(block)
new_text = "".join(result)

# The result must be the old catalog with only the refreshed keys changed.
try:
    old_cat = tomllib.loads(text)
    new_cat = tomllib.loads(new_text)
except tomllib.TOMLDecodeError as e:
    fail(f"the rewritten catalog does not parse ({e})")
old_list, new_list = old_cat.get("instance", []), new_cat.get("instance", [])
if {k: v for k, v in old_cat.items() if k != "instance"} != {
    k: v for k, v in new_cat.items() if k != "instance"
} or len(old_list) != len(new_list):
    fail("the rewritten catalog lost or gained entries")
for old, new_inst in zip(old_list, new_list):
    expect = dict(old)
    for key, value in updates.get(old.get("name"), {}).items():
        expect[key] = tomllib.loads(f"v = {value}")["v"]
    if new_inst != expect:
        fail(f"rewriting {old.get('name')} went wrong ({new_inst} != {expect})")

with open(tmp_out, "w", encoding="utf-8") as f:
    f.write(new_text)
shutil.copymode(out if os.path.exists(out) else catalog, tmp_out)
PY

mv -f -- "$tmp_out" "$out"
tmp_out=""
echo "refresh-prices: wrote $out" >&2
