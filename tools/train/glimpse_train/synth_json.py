"""Generated structured JSON records (users, orders, configs, events, API responses, tsconfig-like files).

Real JSON in node_modules is almost only package.json; generated records give the model many short,
strictly valid documents to learn brackets, quoting, commas and nesting from.
"""
from __future__ import annotations

import json
import random

FIRST = "ada alan grace linus ken dennis barbara margaret edsger donald john tim guido bjarne anders brendan james rob".split()
LAST = "lovelace turing hopper torvalds thompson ritchie liskov hamilton dijkstra knuth backus lee rossum stroustrup hejlsberg eich gosling pike".split()
WORDS = ("alpha beta gamma delta cache index queue stream buffer parser token cursor widget order invoice report "
         "session request response payload channel worker cluster region bucket model layer config feature").split()
CITIES = "Berlin Paris Lisbon Oslo Tokyo Austin Toronto Nairobi Lima Sydney Madrid Seoul".split()
STATUS = ["active", "pending", "disabled", "archived", "draft"]
LEVELS = ["debug", "info", "warn", "error"]
TARGETS = ["ES2020", "ES2022", "ESNext"]


def _id(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([8, 12])))


def _date(rng: random.Random) -> str:
    return f"20{rng.randint(18, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"


def user(rng):
    f, l = rng.choice(FIRST), rng.choice(LAST)
    return {
        "id": rng.randint(1, 99999), "name": f"{f.title()} {l.title()}", "email": f"{f}.{l}@example.com",
        "active": rng.random() < 0.7, "roles": rng.sample(["admin", "editor", "viewer", "owner"], rng.randint(1, 3)),
        "address": {"city": rng.choice(CITIES), "zip": f"{rng.randint(10000, 99999)}"},
        "createdAt": _date(rng),
    }


def order(rng):
    items = [{"sku": f"{rng.choice(WORDS)[:3].upper()}-{rng.randint(100, 999)}", "qty": rng.randint(1, 9),
              "price": round(rng.uniform(1, 500), 2)} for _ in range(rng.randint(1, 4))]
    return {"orderId": _id(rng), "customer": rng.randint(1, 9999), "status": rng.choice(STATUS), "items": items,
            "total": round(sum(i["qty"] * i["price"] for i in items), 2), "currency": rng.choice(["EUR", "USD", "JPY"]),
            "paid": rng.random() < 0.5, "note": None if rng.random() < 0.6 else rng.choice(WORDS)}


def event(rng):
    return {"ts": _date(rng), "level": rng.choice(LEVELS), "service": rng.choice(WORDS) + "-" + rng.choice(WORDS),
            "message": f"{rng.choice(WORDS)} {rng.choice(['started', 'failed', 'completed', 'retrying'])}",
            "durationMs": rng.randint(1, 5000), "tags": rng.sample(WORDS, rng.randint(0, 3))}


def app_config(rng):
    return {"name": rng.choice(WORDS) + "-" + rng.choice(WORDS), "port": rng.choice([80, 443, 3000, 8080, 8443]),
            "debug": rng.random() < 0.3, "database": {"host": "localhost", "port": rng.choice([5432, 3306, 27017]),
                                                     "pool": {"min": rng.randint(0, 2), "max": rng.randint(5, 50)}},
            "features": {w: rng.random() < 0.5 for w in rng.sample(WORDS, rng.randint(1, 4))},
            "logLevel": rng.choice(LEVELS)}


def tsconfig(rng):
    opts = {"target": rng.choice(TARGETS), "module": rng.choice(["ESNext", "NodeNext", "CommonJS"]),
            "strict": rng.random() < 0.8, "outDir": rng.choice(["dist", "build", "lib"]),
            "declaration": rng.random() < 0.5, "sourceMap": rng.random() < 0.5, "skipLibCheck": True}
    if rng.random() < 0.5:
        opts["moduleResolution"] = rng.choice(["Bundler", "NodeNext", "Node"])
    return {"extends": "../../tsconfig.base.json", "compilerOptions": opts,
            "include": [rng.choice(["src", "lib", "test"])], "exclude": ["node_modules", "dist"]} if rng.random() < 0.5 \
        else {"compilerOptions": opts, "include": ["src/**/*.ts"]}


def package_json(rng):
    name = rng.choice(["", "@glimpse/"]) + rng.choice(WORDS) + "-" + rng.choice(WORDS)
    deps = {w: f"^{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}" for w in rng.sample(WORDS, rng.randint(0, 4))}
    d = {"name": name, "version": f"{rng.randint(0, 3)}.{rng.randint(0, 12)}.{rng.randint(0, 9)}", "private": rng.random() < 0.5,
         "type": rng.choice(["module", "commonjs"]), "main": "dist/index.js",
         "scripts": {"build": "tsc -p .", "test": rng.choice(["vitest run", "jest", "mocha"])}}
    if deps:
        d["dependencies"] = deps
    return d


def api_response(rng):
    n = rng.randint(1, 3)
    return {"ok": True, "page": rng.randint(1, 20), "perPage": n, "data": [user(rng) if rng.random() < 0.5 else event(rng) for _ in range(n)]}


KINDS = [user, order, event, app_config, tsconfig, package_json, api_response]


def record(rng: random.Random) -> str:
    obj = rng.choice(KINDS)(rng)
    if rng.random() < 0.15:  # arrays of records also occur in real data
        obj = [rng.choice(KINDS[:3])(rng) for _ in range(rng.randint(2, 3))]
    indent = rng.choice([2, 2, 2, 4, None])
    return json.dumps(obj, indent=indent) + "\n"
