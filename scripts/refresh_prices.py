"""Helpers of scripts/refresh-prices.sh: the line-by-line rewrite of an instance catalog that
keeps every comment and every other key, and the --skypilot-catalog mode (SkyPilot's vms.csv
price catalogs for aws, gcp and azure). Needs Python 3.11+ (tomllib)."""

import csv
import datetime
import decimal
import os
import re
import shutil
import sys
import tomllib

D = decimal.Decimal


def warn(msg):
    print(f"refresh-prices: warning: {msg}", file=sys.stderr)


def fail(msg):
    sys.exit(f"refresh-prices: {msg}; nothing written")


def fmt(d):
    """A Decimal as a TOML float: 0.5260000000 -> 0.526, 12 -> 12.0."""
    s = format(d.normalize(), "f")
    return s if "." in s else s + ".0"


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


def _rewrite_block(block, updates):
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


def rewrite(catalog, tmp_out, updates, mode_from):
    """Writes `catalog` with `updates` ({name: {key: TOML value text}}) applied into `tmp_out`,
    after checking the result parses to the old catalog with only those keys changed; takes
    the file mode of `mode_from` (or of the catalog, when it does not exist)."""
    with open(catalog, encoding="utf-8") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"

    result, block = [], None
    for line in lines:
        if TABLE.match(line):
            if block is not None:
                result += _rewrite_block(block, updates)
            if line.strip() == "[[instance]]":
                block = [line]
                continue
            block = None
        if block is not None:
            block.append(line)
        else:
            result.append(line)
    if block is not None:
        result += _rewrite_block(block, updates)
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
    shutil.copymode(mode_from if os.path.exists(mode_from) else catalog, tmp_out)


# --- --skypilot-catalog ------------------------------------------------------------------------

# The source code each catalog file's header explains (catalog.rs checks every code is).
SOURCE = {"aws": "[SKY-A]", "gcp": "[SKY-G]", "azure": "[SKY-Z]"}
# instances/gpus.toml keys -> SkyPilot's accelerator names (for GCP's separate GPU rows).
SKY_GPU = {
    "T4": "T4", "L4": "L4", "V100-SXM2-16GB": "V100", "A100-SXM4-40GB": "A100",
    "A100-80GB": "A100-80GB", "H100-SXM5-80GB": "H100", "K80": "K80",
}


def _price(value):
    """A catalog cell as a Decimal, or None when empty (SkyPilot leaves unknown spot prices
    empty)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return D(value)
    except decimal.InvalidOperation:
        return None


def _read_vms(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    need = {"InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "SpotPrice", "Region"}
    missing = need - set(rows[0].keys() if rows else need)
    if missing:
        fail(f"{path} lacks the column(s) {', '.join(sorted(missing))} of SkyPilot's vms.csv")
    return rows


def _spread(rows, column):
    """(highest, lowest, zones) of a price column over rows, or None without prices."""
    prices = [p for p in (_price(r.get(column)) for r in rows) if p is not None and p > 0]
    if not prices:
        return None
    zones = {r.get("AvailabilityZone") or r.get("Region") for r in rows if _price(r.get(column))}
    return max(prices), min(prices), len(zones)


def _offer(inst, rows, cloud):
    """The rows pricing `inst` in its region: [vm rows] or [vm rows, gpu rows] (GCP prices
    the host VM and the attached GPUs as separate rows; the price is their sum)."""
    region = inst.get("region", "")
    name = inst["name"]
    vm_name, _, _ = name.partition("+")
    here = [r for r in rows if r["Region"] == region]
    vm = [r for r in here if r["InstanceType"] == vm_name]
    if not vm:
        return None
    parts = [vm]
    if cloud == "gcp" and inst.get("gpu"):
        acc = SKY_GPU.get(inst["gpu"])
        count = inst.get("gpu_count", 1)
        gpu = [
            r for r in here
            if not r["InstanceType"] and r["AcceleratorName"] == acc
            and _price(r["AcceleratorCount"]) == count
        ]
        if not gpu:
            return None
        parts.append(gpu)
    return parts


def skypilot_updates(cloud, toml_path, rows, date):
    with open(toml_path, "rb") as f:
        entries = tomllib.load(f).get("instance", [])
    updates = {}
    for inst in entries:
        if inst.get("provider") != cloud:
            continue
        name = inst["name"]
        parts = _offer(inst, rows, cloud)
        demand = parts and [_spread(p, "Price") for p in parts]
        if not demand or None in demand:
            warn(f"{cloud} {name}: not in the SkyPilot catalog for {inst.get('region')}; keeping its old values")
            continue
        new = {
            # The highest zone's price: the honest one to charge when SkyPilot may land anywhere.
            "price_usd_per_hour": fmt(sum(hi for hi, _, _ in demand)),
            "price_date": f'"{date}"',
            "source": f'"{SOURCE[cloud]}"',
        }
        spot = [_spread(p, "SpotPrice") for p in parts]
        if None in spot:
            warn(f"{cloud} {name}: no spot price in the SkyPilot catalog; keeping its old spot values")
        else:
            hi, lo = sum(s[0] for s in spot), sum(s[1] for s in spot)
            zones = max(s[2] for s in spot)
            new["spot_usd_per_hour"] = fmt(hi)
            new["spot_sampled"] = (
                f'"{fmt(lo)}-{fmt(hi)} [{SOURCE[cloud][1:-1]}, {zones} zone{"" if zones == 1 else "s"}]"'
            )
        updates[name] = new
        print(
            f"refresh-prices: {cloud} {name}: on demand {new['price_usd_per_hour']}"
            + (f", spot {new['spot_usd_per_hour']}" if "spot_usd_per_hour" in new else ""),
            file=sys.stderr,
        )
    return updates


def skypilot_main(sky_dir, instances, date):
    """Refreshes instances/{aws,gcp,azure}.toml from SKY_DIR/<cloud>/vms.csv: every file is
    rewritten to a temporary file first, and all are moved into place only when all worked."""
    done = []
    try:
        for cloud in ("aws", "gcp", "azure"):
            csv_path = os.path.join(sky_dir, cloud, "vms.csv")
            toml_path = os.path.join(instances, f"{cloud}.toml")
            if not os.path.exists(csv_path):
                warn(f"no {csv_path}: {toml_path} is left as it is")
                continue
            if not os.path.exists(toml_path):
                fail(f"no catalog {toml_path} to refresh")
            # The catalog's date is when sky last downloaded it (the file's modification time).
            day = date or datetime.datetime.fromtimestamp(
                os.path.getmtime(csv_path), datetime.timezone.utc
            ).strftime("%Y-%m-%d")
            updates = skypilot_updates(cloud, toml_path, _read_vms(csv_path), day)
            tmp = os.path.join(instances, f".refresh-prices.{cloud}.{os.getpid()}")
            done.append((tmp, toml_path))
            rewrite(toml_path, tmp, updates, toml_path)
        if not done:
            fail(f"{sky_dir} has none of aws/vms.csv, gcp/vms.csv, azure/vms.csv")
    except BaseException:
        for tmp, _ in done:
            if os.path.exists(tmp):
                os.remove(tmp)
        raise
    for tmp, toml_path in done:
        os.replace(tmp, toml_path)
        print(f"refresh-prices: wrote {toml_path}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "skypilot":
        sys.exit("usage: refresh_prices.py skypilot SKY_DIR INSTANCES_DIR DATE|''")
    skypilot_main(sys.argv[2], sys.argv[3], sys.argv[4])
