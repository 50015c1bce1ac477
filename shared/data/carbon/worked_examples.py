#!/usr/bin/env python3
"""Hand-worked CO2e values for the carbon methodologies (stdlib only).

Reads desnz-2025.json and epa-2025.json from this folder and the airport
coordinates from airports.csv, applies each source's method as documented in
README.md, and prints the worked-examples table (Markdown) or, with --json,
the same numbers as JSON for the Rust tests.

    python3 worked_examples.py [--airports PATH] [--json]

airports.csv is looked for, in order: --airports, ../airports.csv (i.e.
shared/data/airports.csv), /work/shared/data/airports.csv.
"""
import csv
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius
KM_PER_MILE = 1.609344       # international mile, exact
UK = {"GB", "GG", "IM", "JE"}  # DESNZ 'Haul definition': Domestic = GBR, GGY, IMN, JEY
DESNZ_LONG_HAUL_KM = 3700.0
EPA_SHORT_MAX_MI = 300.0     # short: miles < 300
EPA_LONG_MIN_MI = 2300.0     # long: miles >= 2300

ROUTES = [
    ("LHR", "EDI"), ("LHR", "MAN"), ("JER", "LHR"), ("LHR", "CDG"), ("LHR", "AMS"),
    ("LHR", "JFK"), ("DXB", "LHR"), ("FRA", "JFK"), ("MUC", "BER"), ("CDG", "NCE"),
    ("SFO", "LAX"), ("JFK", "LAX"), ("SYD", "MEL"), ("BOS", "JFK"),
]
CABINS = ("economy", "business")


def load_airports(path):
    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["iata"]] = (float(row["lat"]), float(row["lon"]), row["country"])
    return out


def haversine_km(a, b):
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    dlat, dlon = lat2 - lat1, lon2 - lon1
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def desnz_category(c1, c2, km):
    uk1, uk2 = c1 in UK, c2 in UK
    if uk1 and uk2:
        return "domestic_to_from_uk", "domestic"
    if uk1 or uk2:
        if km < DESNZ_LONG_HAUL_KM:
            return "short_haul_to_from_uk", "short_haul"
        return "long_haul_to_from_uk", "long_haul"
    return "international_to_from_non_uk", "international_non_uk"


def desnz_cabin(haul, cabin):
    if haul == "domestic":
        return "average"  # no cabin split published for domestic
    if haul == "short_haul":
        # project fallback (not DESNZ): no premium economy / first rows for short-haul
        return {"premium_economy": "economy", "first": "business"}.get(cabin, cabin)
    return cabin


def epa_haul(miles):
    if miles < EPA_SHORT_MAX_MI:
        return "short_haul"
    if miles < EPA_LONG_MIN_MI:
        return "medium_haul"
    return "long_haul"


def find_airports_csv(argv):
    if "--airports" in argv:
        return argv[argv.index("--airports") + 1]
    for p in (os.path.join(HERE, "..", "airports.csv"), "/work/shared/data/airports.csv"):
        if os.path.exists(p):
            return p
    sys.exit("airports.csv not found; pass --airports PATH")


def main(argv):
    airports = load_airports(find_airports_csv(argv))
    desnz = {f["id"]: f for f in json.load(open(os.path.join(HERE, "desnz-2025.json"), encoding="utf-8"))["factors"]}
    epa = {f["id"]: f for f in json.load(open(os.path.join(HERE, "epa-2025.json"), encoding="utf-8"))["factors"]}
    gwp_ch4, gwp_n2o = 28, 265

    results = []
    for o, d in ROUTES:
        a, b = airports[o], airports[d]
        km = haversine_km(a, b)
        miles = km / KM_PER_MILE
        cat, haul = desnz_category(a[2], b[2], km)
        eh = epa_haul(miles)
        ef = epa[f"epa-2025/air/{eh}"]
        epa_per_mile = ef["co2_kg_per_unit"] + ef["ch4_g_per_unit"] * gwp_ch4 / 1000 + ef["n2o_g_per_unit"] * gwp_n2o / 1000
        row = {"route": f"{o}-{d}", "from": o, "to": d, "from_country": a[2], "to_country": b[2],
               "distance_km": km, "distance_miles": miles, "desnz_category": cat,
               "epa_haul": eh, "epa_factor_id": ef["id"], "epa_kg_co2e_per_mile": epa_per_mile,
               "epa_kg_co2e": miles * epa_per_mile, "cabins": {}}
        for cabin in CABINS:
            dc = desnz_cabin(haul, cabin)
            fw = desnz[f"desnz-2025/air/{haul}/{dc}/with_rf"]
            fo = desnz[f"desnz-2025/air/{haul}/{dc}/without_rf"]
            row["cabins"][cabin] = {
                "desnz_with_rf_factor_id": fw["id"], "desnz_with_rf_factor": fw["kg_co2e_per_unit"],
                "desnz_with_rf_kg_co2e": km * fw["kg_co2e_per_unit"],
                "desnz_without_rf_factor_id": fo["id"], "desnz_without_rf_factor": fo["kg_co2e_per_unit"],
                "desnz_without_rf_kg_co2e": km * fo["kg_co2e_per_unit"],
                "epa_kg_co2e": miles * epa_per_mile,
            }
        results.append(row)

    if "--json" in argv:
        json.dump({"earth_radius_km": EARTH_RADIUS_KM, "km_per_mile": KM_PER_MILE,
                   "epa_gwp": {"ch4": gwp_ch4, "n2o": gwp_n2o}, "examples": results}, sys.stdout, indent=2)
        print()
        return

    print("| Route | Countries | Great-circle km | Miles | DESNZ category | EPA haul | Cabin | DESNZ factor id (with RF) | DESNZ with RF kg CO2e | DESNZ without RF kg CO2e | EPA kg CO2e |")
    print("|---|---|---:|---:|---|---|---|---|---:|---:|---:|")
    for r in results:
        for cabin in CABINS:
            c = r["cabins"][cabin]
            print(f"| {r['route']} | {r['from_country']}-{r['to_country']} | {r['distance_km']:.3f} | {r['distance_miles']:.3f} | "
                  f"{r['desnz_category']} | {r['epa_haul']} | {cabin} | `{c['desnz_with_rf_factor_id']}` | "
                  f"{c['desnz_with_rf_kg_co2e']:.3f} | {c['desnz_without_rf_kg_co2e']:.3f} | {c['epa_kg_co2e']:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
