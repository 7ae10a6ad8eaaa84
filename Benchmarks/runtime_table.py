"""Markdown table from one Benchmarks/runtime.sh run: RESULTS_DIR holds run.env,
llama-ISA-NAME.json (llama-bench -o json, one per llama.cpp build: native, avx2),
weightkit-NAME.json (weightkit bench --json) and bandwidth-NAME.txt (two probes: before and after).

    python3 Benchmarks/runtime_table.py RESULTS_DIR "f32 f16 q8_0 q4_0 q4_1"
"""
import json
import os
import sys

LABELS = {"f32": "F32", "f16": "F16", "q8_0": "Q8_0", "q4_0": "Q4_0", "q4_1": "Q4_1 (the PyPI file)"}
ISA_LABELS = {"native": "llama.cpp native", "avx2": "llama.cpp AVX2"}


def read_env(folder):
    env = {}
    with open(os.path.join(folder, "run.env")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            env[key] = value
    return env


def llama_rows(path):
    """{(threads, 'prefill'|'decode'): (mean, sd)} from llama-bench's JSON array."""
    rows = {}
    with open(path) as f:
        for test in json.load(f):
            kind = "prefill" if test["n_prompt"] > 0 and test["n_gen"] == 0 else "decode"
            rows[(test["n_threads"], kind)] = (test["avg_ts"], test["stddev_ts"])
    return rows


def weightkit_rows(path):
    rows = {}
    with open(path) as f:
        report = json.load(f)
    for r in report["results"]:
        rows[(r["threads"], "prefill")] = (r["prefillTokensPerSecond"], r["prefillSD"])
        rows[(r["threads"], "decode")] = (r["decodeTokensPerSecond"], r["decodeSD"])
    return rows


def bandwidth(folder, name):
    """'best before → best after' GB/s, from the probe's lines."""
    path = os.path.join(folder, f"bandwidth-{name}.txt")
    if not os.path.exists(path):
        return "–"
    best = []
    with open(path) as f:
        for line in f:
            fields = dict(part.split("=") for part in line.split())
            best.append(f"{float(fields['best_gbps']):.0f}")
    return " → ".join(best)


def cell(rows, threads, kind):
    values = []
    for t in threads:
        mean_sd = rows.get((t, kind))
        values.append("–" if mean_sd is None else f"{mean_sd[0]:.1f}")
    return " / ".join(values)


def main():
    folder, names = sys.argv[1], sys.argv[2].split()
    env = read_env(folder)
    isas = env.get("llama_builds", "native").split(",")
    threads, build, model_sizes = set(), None, {}
    tables = []
    for name in names:
        llama = {}
        for isa in isas:
            path = os.path.join(folder, f"llama-{isa}-{name}.json")
            llama[isa] = llama_rows(path)
            with open(path) as f:
                first = json.load(f)[0]
            build = (first.get("build_commit"), first.get("build_number"))
            model_sizes[name] = first.get("model_size", 0)
            threads |= {t for t, _ in llama[isa]}
        wk = weightkit_rows(os.path.join(folder, f"weightkit-{name}.json"))
        threads |= {t for t, _ in wk}
        tables.append((name, wk, llama))
    threads = sorted(threads)
    t_label = "/".join(str(t) for t in threads)
    first_dir = env.get(f"llama_dir_{isas[0]}", "")
    parts = [p for p in first_dir.split("/") if p.startswith("llama.cpp-src-")]
    source = f"llama-cpp-python {parts[0][len('llama.cpp-src-'):]} sdist" if parts else first_dir
    print(f"Measured {env['date']} on {env['cpu']}; load average at start {env['load_start']}, "
          f"at end {env['load_end']}.")
    print(f"llama.cpp build {build[0]} (build number {build[1]}), from {source}, built "
          f"{' and '.join(isas)}; WeightKit {env['weightkit_commit']}. Tokens/s, mean of the repetitions, "
          f"threads {t_label}. Read GB/s: Benchmarks/bandwidth with 2 threads before → after the model's runs.")
    print()
    header = ["weights", "read GB/s", f"WeightKit decode, {t_label} threads"]
    header += [f"{ISA_LABELS[i]} decode" for i in isas]
    header += [f"WeightKit prefill-128, {t_label} threads"]
    header += [f"{ISA_LABELS[i]} prefill" for i in isas]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for name, wk, llama in tables:
        row = [f"{LABELS.get(name, name)}, {model_sizes[name] / 1e6:.0f} MB", bandwidth(folder, name), cell(wk, threads, "decode")]
        row += [cell(llama[i], threads, "decode") for i in isas]
        row += [cell(wk, threads, "prefill")]
        row += [cell(llama[i], threads, "prefill") for i in isas]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
