"""The `large` scenario, generated rather than stored: 10,000 users, 200 groups, 50,000
memberships, every group assigned to the app.

It exists to measure the provisioning engine at the scale where Entra's own cycles take hours,
so it must be the same on every run: all randomness comes from one seeded `random.Random`, and
nothing reads the clock. It produces the same dict a TOML file would parse to, so it goes
through the loader's validation like any other scenario.
"""

from __future__ import annotations

import itertools
import random

SEED = 20260105
TENANT_ID = "5c0a1f5e-7d3b-4e2a-9b61-0f4d2c8e9a17"
DOMAIN = "fabrikam.onmicrosoft.com"
PASSWORD = "Fabrikam-Large-2026!"  # one documented password, hashed once when applied

_FIRST = (
    "Aaliyah Aaron Abigail Adrian Aisha Alejandro Alice Amara Amir Ana Andrei Anika Arjun Ava "
    "Beatriz Benjamin Camila Carlos Chen Chloe Daniel Dmitri Elena Elijah Emma Fatima Felix "
    "Gabriel Grace Hana Hassan Ines Isabella Ivan Jamal Javier Julia Kai Kenji Laila Leo Lucia "
    "Mateo Maya Mei Mohammed Nadia Noah Olivia Omar Priya Rafael Rin Sofia Tariq Thomas Yara Zoe"
)
_LAST = (
    "Abbott Adeyemi Alvarez Anderson Bauer Bianchi Brown Castillo Chen Cohen Dubois Eriksen "
    "Fernandes Fischer Garcia Gupta Hansen Hernandez Ibrahim Ito Jansen Johnson Kaur Kim "
    "Kowalski Larsen Lee Lopez Martin Mehta Moreau Müller Nakamura Nguyen Novak Okafor Olsen "
    "Patel Petrov Popescu Quinn Rossi Santos Schmidt Silva Singh Smith Sokolov Suzuki Tanaka "
    "Torres Tran Walker Wang Weber Williams Wilson Yamamoto Zhang Zimmermann"
)
FIRST_NAMES = tuple(_FIRST.split())
LAST_NAMES = tuple(_LAST.split())
DEPARTMENTS = {
    "Data Engineering": ("Data Engineer", "Senior Data Engineer", "Data Platform Lead"),
    "Analytics": ("Data Analyst", "Business Analyst", "Analytics Manager"),
    "Data Science": ("Data Scientist", "Machine Learning Engineer", "Research Scientist"),
    "Finance": ("Accountant", "Financial Analyst", "Controller"),
    "Sales": ("Account Executive", "Sales Engineer", "Sales Manager"),
    "Marketing": ("Marketing Specialist", "Content Strategist", "Marketing Manager"),
    "Customer Success": ("Support Engineer", "Customer Success Manager", "Support Lead"),
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager"),
    "Security": ("Security Analyst", "Security Engineer", "CISO Office Lead"),
    "Operations": ("Operations Analyst", "Program Manager", "Operations Manager"),
    "Human Resources": ("HR Generalist", "Recruiter", "HR Business Partner"),
    "Legal": ("Paralegal", "Counsel", "Compliance Officer"),
}
OFFICES = (
    ("Redmond", "WA", "98052", "United States", "+1 425 555 "),
    ("New York", "NY", "10001", "United States", "+1 212 555 "),
    ("Austin", "TX", "73301", "United States", "+1 512 555 "),
    ("Toronto", "ON", "M5V 2T6", "Canada", "+1 416 555 "),
    ("London", None, "EC1A 1BB", "United Kingdom", "+44 20 7946 "),
    ("Berlin", None, "10115", "Germany", "+49 30 5550 "),
    ("Bangalore", "KA", "560001", "India", "+91 80 5550 "),
    ("Singapore", None, "018956", "Singapore", "+65 5550 "),
)
LANGUAGES = {"Germany": "de-DE", "India": "en-IN", "United Kingdom": "en-GB"}
GROUP_TOPICS = (
    "Data Engineering",
    "Analytics",
    "Data Science",
    "Finance",
    "Sales",
    "Marketing",
    "Customer Success",
    "Engineering",
    "Security",
    "Operations",
    "Human Resources",
    "Legal",
    "Product",
    "Design",
    "Quality",
    "Infrastructure",
    "Business Intelligence",
    "Procurement",
    "Compliance",
    "Research",
)
GROUP_REGIONS = ("Americas", "EMEA", "APAC", "North", "South", "East", "West", "Central", "Remote", "HQ")


def build_large(users: int = 10_000, groups: int = 200, memberships: int = 50_000, seed: int = SEED) -> dict:
    """The scenario as parsed TOML would hold it; every user is in at least one group."""
    if groups > len(GROUP_TOPICS) * len(GROUP_REGIONS):
        raise ValueError(f"at most {len(GROUP_TOPICS) * len(GROUP_REGIONS)} groups")
    if not users <= memberships <= users * groups or groups < 1:
        raise ValueError("memberships must lie between the number of users and users × groups")
    rng = random.Random(seed)
    people = _users(rng, users)
    names = [f"{topic} {region}" for region, topic in itertools.product(GROUP_REGIONS, GROUP_TOPICS)][:groups]
    members = _memberships(rng, users, groups, memberships)
    upns = [p["userPrincipalName"] for p in people]
    return {
        "scenario": {
            "name": "large",
            "description": f"Fabrikam, generated: {users:,} users, {groups:,} groups, "
            f"{memberships:,} memberships, every group assigned to Starburst Galaxy.",
        },
        "tenant": {"id": TENANT_ID, "displayName": "Fabrikam", "primaryDomain": DOMAIN},
        "users": people,
        "groups": [
            {
                "displayName": name,
                "description": f"Everyone working on {name.rsplit(' ', 1)[0]} in {name.rsplit(' ', 1)[1]}",
                "members": [upns[u] for u in sorted(members[g])],
            }
            for g, name in enumerate(names)
        ],
        "app": {"displayName": "Starburst Galaxy", "assignments": names},
    }


def _users(rng: random.Random, count: int) -> list[dict]:
    """Users with unique UPNs, a department, an office, and a manager earlier in the list (so
    the org chart is a tree: the first 1% manage everyone else, under user 0)."""
    taken: dict[str, int] = {}
    managers = max(1, count // 100)
    departments = list(DEPARTMENTS)
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{first}.{last}".lower().replace("ü", "ue")
        taken[base] = taken.get(base, 0) + 1
        nickname = base if taken[base] == 1 else f"{base}{taken[base]}"
        department = rng.choice(departments)
        city, state, postal, country, phone = rng.choice(OFFICES)
        upn = f"{nickname}@{DOMAIN}"
        user = {
            "userPrincipalName": upn,
            "displayName": f"{first} {last}",
            "givenName": first,
            "surname": last,
            "mailNickname": nickname,
            "jobTitle": rng.choice(DEPARTMENTS[department]),
            "department": department,
            "employeeId": f"F{100000 + i}",
            "preferredLanguage": LANGUAGES.get(country, "en-US"),
            "physicalDeliveryOfficeName": f"{city} {rng.randint(1, 9)}/{rng.randint(100, 499)}",
            "city": city,
            "postalCode": postal,
            "country": country,
            "telephoneNumber": f"{phone}{rng.randint(0, 9999):04d}",
            "password": PASSWORD,
        }
        if state is not None:
            user["state"] = state
        if rng.random() >= 0.005:  # a few accounts without a mailbox, as in any real tenant
            user["mail"] = upn
        if rng.random() < 0.01:
            user["enabled"] = False
        if i > 0:
            boss = rng.randrange(0, i) if i < managers else rng.randrange(0, managers)
            user["manager"] = people[boss]["userPrincipalName"]
        people.append(user)
    return people


def _memberships(rng: random.Random, users: int, groups: int, total: int) -> list[set[int]]:
    """Members per group: first each user joins one group (round robin, so none is left out),
    then the rest are spread with a long tail, a few groups large and most small."""
    members: list[set[int]] = [set() for _ in range(groups)]
    for u in range(users):
        members[u % groups].add(u)
    cumulative = list(itertools.accumulate(1 / (k + 1) ** 0.8 for k in range(groups)))
    order = list(range(groups))
    rng.shuffle(order)  # the popular groups are not simply the first ones
    placed = users
    while placed < total:
        g = order[rng.choices(range(groups), cum_weights=cumulative)[0]]
        u = rng.randrange(users)
        if u not in members[g]:
            members[g].add(u)
            placed += 1
    return members
