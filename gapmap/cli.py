"""`python -m gapmap …`: everything the app can do, from a terminal.

Exit codes: 0 success (warnings allowed), 1 invalid input, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from gapmap.errors import GapmapInputError

#: The levels of `gapmap.geography.LEVELS` (repeated here so `--help` needs no heavy import).
LEVEL_CHOICES = ("district", "tier1", "pfa", "region")
AREAS_HELP = (
    "the selection: a partnership id (llr, pan_lancashire), a code or name of any level (E23000021 "
    "for Leicestershire police, E10000018 or Rutland), or a list of district codes or "
    "names separated by commas (default: every area)"
)


def _add_input_args(p: argparse.ArgumentParser, services_required: bool) -> None:
    p.add_argument("--services", type=Path, required=services_required, help="service list (CSV or XLSX)")
    p.add_argument(
        "--boundaries", type=Path, help="area boundaries (GeoJSON, GeoPackage or zipped Shapefile)"
    )
    p.add_argument("--population", type=Path, help="population denominators (CSV, XLSX or ONS MYE workbook)")
    p.add_argument(
        "--postcodes", type=Path, help="postcode lookup in ONSPD/NSPL layout (pcds, lat, long, doterm)"
    )
    p.add_argument("--benchmarks", type=Path, help="your own vocabulary/benchmark TOML file")


def _add_commissioning_args(p: argparse.ArgumentParser, *, report: bool) -> None:
    """Demand, interventions, unit costs and scenarios (issue 12; gapmap.commissioning)."""
    p.add_argument("--demand", type=Path, help="demand table (CSV or XLSX): area_code, period, measures")
    p.add_argument("--interventions", type=Path, help="your own interventions catalogue (TOML)")
    p.add_argument("--unit-costs", type=Path, help="your own unit costs (TOML or CSV/XLSX)")
    if report:
        p.add_argument("--period", help="demand period to use (default: the latest in the table)")
        p.add_argument("--scenario", type=Path, help="what-if scenario (TOML or CSV) to score before/after")
    else:
        p.add_argument("--scenario", type=Path, help="what-if scenario (TOML or CSV) to check")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gapmap",
        description="Map domestic abuse and sexual violence provision against population benchmarks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check input files and print every problem found")
    _add_input_args(p, services_required=True)
    p.add_argument("--areas", help=AREAS_HELP + "; checked and listed")
    _add_commissioning_args(p, report=False)

    p = sub.add_parser("report", help="score benchmarks and the patchwork; write tables, maps and the pack")
    _add_input_args(p, services_required=False)
    p.add_argument("--profile", help="benchmark profile id (default: the profile marked default)")
    p.add_argument(
        "--population-vintage",
        "--denominator-source",
        dest="population_vintage",
        help="population estimate to divide by when the population file has several, e.g. census2021, "
        "mye2023 or mye2020 (default: the most recent official estimate present)",
    )
    p.add_argument("--areas", help=AREAS_HELP)
    p.add_argument(
        "--level",
        choices=LEVEL_CHOICES,
        default="district",
        help="score per district (default), tier-one authority, police force area or region: each "
        "figure is the sum of its districts' (England's 2024 districts only)",
    )
    p.add_argument(
        "--on",
        dest="on_date",
        help="DD/MM/YYYY (e.g. 31/03/2028) or YYYY-MM-DD: leave out services whose funding ends before it",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--title", help="title for maps and the pack")
    p.add_argument("--no-maps", action="store_true", help="skip map.png, map.pdf and map.html")
    p.add_argument("--no-pack", action="store_true", help="skip pack.pdf")
    p.add_argument("--no-xlsx", action="store_true", help="skip gaps.xlsx")
    _add_commissioning_args(p, report=True)
    g = p.add_argument_group(
        "small-area access (LSOAs built in for England; straight-line km unless --travel-times)"
    )
    g.add_argument(
        "--small-areas",
        type=Path,
        help="small areas CSV: small_area_code, district_code, population, easting+northing or lon+lat "
        "(default with England built in: its 33,755 LSOAs 2021)",
    )
    g.add_argument("--no-small-areas", action="store_true", help="skip small-area access")
    g.add_argument(
        "--access-catchment", type=float, default=20.0, help="2SFCA catchment, km or minutes (default 20)"
    )
    g.add_argument(
        "--access-beyond",
        type=float,
        default=15.0,
        help="count residents whose nearest service of a type is farther than this, km or minutes "
        "(default 15)",
    )
    g.add_argument(
        "--access-decay", choices=("none", "linear", "gaussian"), default="none", help="distance decay"
    )
    g.add_argument(
        "--travel-times",
        type=Path,
        help="CSV small_area_code, service_id, minutes: replaces straight-line distance (see README)",
    )

    p = sub.add_parser("demo", help="regenerate the fictional demo county under data/ (deterministic)")
    p.add_argument("--out", type=Path, help="root folder to write into (default: the repository's data/)")

    p = sub.add_parser("versions", help="list saved service-list versions")
    p.add_argument("--dir", type=Path, help="folder of saved versions (default: data/services/saved)")

    p = sub.add_parser("save", help="validate a service list and, if valid, save it as a new version")
    _add_input_args(p, services_required=True)
    p.add_argument("--dir", type=Path, help="folder of saved versions (default: data/services/saved)")

    p = sub.add_parser("compare", help="compare two saved service-list versions")
    p.add_argument("old", help="version id (or path to a service file)")
    p.add_argument("new", help="version id (or path to a service file)")
    p.add_argument("--boundaries", type=Path)
    p.add_argument("--population", type=Path)
    p.add_argument("--postcodes", type=Path)
    p.add_argument("--benchmarks", type=Path)
    p.add_argument("--profile")
    p.add_argument("--areas", help=AREAS_HELP + "; the figures compared cover these areas only")
    p.add_argument("--dir", type=Path, help="folder of saved versions (default: data/services/saved)")

    p = sub.add_parser("scenarios", help="save and list what-if scenarios (kept beside saved versions)")
    sc = p.add_subparsers(dest="scenarios_command", required=True, metavar="ACTION")
    u = sc.add_parser("list", help="list saved scenarios")
    u.add_argument("--dir", type=Path, help="scenarios folder (default: beside the saved versions)")
    u = sc.add_parser("save", help="check a scenario file and save it")
    u.add_argument("file", type=Path)
    u.add_argument("--dir", type=Path, help="scenarios folder (default: beside the saved versions)")

    p = sub.add_parser("users", help="who may sign in when gapmap is served to a network")
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    file_help = "users file (default: GAPMAP_USERS_FILE, else data/users.json)"
    u = users.add_parser("add", help="add a user (the password is asked for, never given as an argument)")
    u.add_argument("name", help="user name: letters, digits, '.', '_' or '-'")
    u.add_argument(
        "--role",
        required=True,
        choices=["viewer", "analyst"],
        help="viewer: maps, tables, exports; analyst: also upload, save and compare",
    )
    u.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    u.add_argument("--replace", action="store_true", help="give an existing user a new password and role")
    u.add_argument("--file", type=Path, help=file_help)
    u = users.add_parser("list", help="list users and their roles")
    u.add_argument("--file", type=Path, help=file_help)
    u = users.add_parser("remove", help="remove a user")
    u.add_argument("name")
    u.add_argument("--file", type=Path, help=file_help)
    return parser


def _cmd_validate(args: argparse.Namespace) -> int:
    from gapmap.dataset import validate_dataset

    dataset, report = validate_dataset(
        services=args.services,
        boundaries=args.boundaries,
        population=args.population,
        postcodes=args.postcodes,
        benchmarks=args.benchmarks,
    )
    selection_line = None
    if getattr(args, "areas", None) and dataset is not None:
        from gapmap.geography import select_areas

        try:
            codes = select_areas(args.areas, dataset.areas, dataset.geography)
        except GapmapInputError as exc:
            report.extend(exc.problems)
        else:
            names = dict(zip(dataset.areas["area_code"], dataset.areas["area_name"], strict=True))
            listed = ", ".join(f"{names.get(c, c)} ({c})" for c in codes or ())
            selection_line = f"Selection: {len(codes or ())} area(s): {listed}"
    if report.ok:
        from gapmap.commissioning import check_inputs

        check_inputs(args, report, dataset)
    print(report.to_text())
    if selection_line and report.ok:
        print(selection_line)
    return 0 if report.ok else 1


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from gapmap.scenarios import list_scenarios, save_scenario

    if args.scenarios_command == "save":
        try:
            path = save_scenario(args.file.read_bytes(), args.file.name, root=args.dir)
        except OSError as exc:
            print(f"error: cannot read {args.file.name}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"saved {path}")
        return 0
    rows = list_scenarios(args.dir)
    if not rows:
        print("No saved scenarios.")
    for r in rows:
        print(f"{r['saved']}  {r['file']}  {r['name']} ({r['actions']} action(s))")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from gapmap.report import run_report

    return run_report(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from gapmap.demo import write_demo

    for path in write_demo(args.out):
        print(path)
    return 0


def _cmd_versions(args: argparse.Namespace) -> int:
    from gapmap.errors import ValidationReport
    from gapmap.storage import list_versions

    found = ValidationReport()
    versions = list_versions(args.dir, report=found)
    for problem in found.problems:  # damaged entries, repairs: on stderr, the list stays parseable
        print(problem, file=sys.stderr)
    if not versions:
        print("No saved versions yet.")
    for v in versions:
        geography = v.geography or "geography not recorded"
        fields = (v.version_id, v.saved_at, f"{v.row_count} rows", v.original_name, v.sha256[:12], geography)
        print("\t".join(fields))
    return 0


def _cmd_save(args: argparse.Namespace) -> int:
    from gapmap.dataset import validate_dataset
    from gapmap.storage import save_if_new

    dataset, report = validate_dataset(
        services=args.services,
        boundaries=args.boundaries,
        population=args.population,
        postcodes=args.postcodes,
        benchmarks=args.benchmarks,
    )
    print(report.to_text())
    if dataset is None or not report.ok:
        print("Nothing was saved.")
        return 1
    # The app's rule too: the same bytes already saved for this geography are not stored again.
    version, created = save_if_new(
        args.services.read_bytes(),
        args.services.name,
        row_count=len(dataset.services),
        root=args.dir,
        geography=dataset.geography,
    )
    if not created:
        print(f"This file is already saved as version {version.version_id}; nothing new was saved.")
        return 0
    print(f"Saved as version {version.version_id} ({version.row_count} rows).")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from gapmap.compare import run_compare

    return run_compare(args)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:  # for scripts: never on the command line, where `ps` would show it
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Same password again: ") != first:
        raise GapmapInputError("the two passwords differ; nothing was changed", file="password")
    return first


def _cmd_users(args: argparse.Namespace) -> int:
    from gapmap import auth, settings

    path = args.file or settings.USERS_FILE
    if args.users_command == "add":
        auth.check_username(args.name)  # before asking for a password
        user = auth.add_user(
            path, args.name, args.role, _read_password(args.password_stdin), replace=args.replace
        )
        print(f"Added {user.username} ({user.role}) to {path}.")
    elif args.users_command == "remove":
        auth.remove_user(path, args.name)
        print(f"Removed {auth.normalise_username(args.name)} from {path}.")
    else:
        found = auth.load_users(path)
        if not found:
            print(f"No users in {path}.")
        for user in found.values():
            print(f"{user.username}\t{user.role}")
    return 0


COMMANDS = {
    "validate": _cmd_validate,
    "report": _cmd_report,
    "demo": _cmd_demo,
    "versions": _cmd_versions,
    "save": _cmd_save,
    "compare": _cmd_compare,
    "users": _cmd_users,
    "scenarios": _cmd_scenarios,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except GapmapInputError as exc:
        # A user mistake: the report, never a traceback.
        print(exc.report.to_text(), file=sys.stderr)
        return 1


def batch_process() -> None:
    """Tune this process for one command run from start to end (not for the app or tests).

    Reading a service list allocates a few objects per cell, and Python's cycle collector would
    then walk the whole heap (pandas, geopandas, numpy: several hundred thousand objects) again
    and again. A command's data is freed by reference counting; collecting cycles less often
    saved about 6% of the CPU time of `report` on 10,000 services (0.06 s of 1.1 s) and costs a
    little memory until the process exits.
    """
    import gc

    gc.set_threshold(100_000, 50, 100)


def main_exit() -> None:
    """The `gapmap` console script (pip install .): `main` with its exit code."""
    batch_process()
    sys.exit(main())
