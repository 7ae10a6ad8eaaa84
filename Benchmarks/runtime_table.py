"""Markdown table from one Benchmarks/runtime.sh run: RESULTS_DIR holds run.env,
llama-NAME.json (llama-bench -o json) and weightkit-NAME.json (weightkit bench --json).

    python3 Benchmarks/runtime_table.py RESULTS_DIR "f32 f16 q8_0 q4_0 q4_1"
"""
import json
import os
import sys

LABELS = {"f32": "F32", "f16": "F16", "q8_0": "Q8_0", "q4_0": "Q4_0", "q4_1": "Q4_1 (the PyPI file)"}


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


def cell(rows, threads, kind):
    values = []
    for t in threads:
        mean_sd = rows.get((t, kind))
        values.append("–" if mean_sd is None else f"{mean_sd[0]:.1f}")
    return " / ".join(values)


def main():
    folder, names = sys.argv[1], sys.argv[2].split()
    env = read_env(folder)
    threads, build, model_sizes = None, None, {}
    tables = []
    for name in names:
        llama = llama_rows(os.path.join(folder, f"llama-{name}.json"))
        with open(os.path.join(folder, f"llama-{name}.json")) as f:
            first = json.load(f)[0]
        build = (first.get("build_commit"), first.get("build_number"))
        model_sizes[name] = first.get("model_size", 0)
        wk = weightkit_rows(os.path.join(folder, f"weightkit-{name}.json"))
        threads = sorted({t for t, _ in wk} | {t for t, _ in llama})
        tables.append((name, wk, llama))
    t_label = "/".join(str(t) for t in threads)
    parts = [p for p in env["llama_dir"].split("/") if p.startswith("llama.cpp-src-")]
    source = f"llama-cpp-python {parts[0][len('llama.cpp-src-'):]} sdist" if parts else env["llama_dir"]
    print(f"Measured {env['date']} on {env['cpu']}; load average at start {env['load_start']}, "
          f"at end {env['load_end']}.")
    print(f"llama.cpp build {build[0]} (build number {build[1]}), from {source}; "
          f"WeightKit {env['weightkit_commit']}. Tokens/s, mean of the repetitions, threads {t_label}.")
    print()
    print(f"| weights | WeightKit decode, {t_label} threads | llama.cpp decode | "
          f"WeightKit prefill-128, {t_label} threads | llama.cpp prefill |")
    print("| --- | --- | --- | --- | --- |")
    for name, wk, llama in tables:
        label = f"{LABELS[name]}, {model_sizes[name] / 1e6:.0f} MB"
        print(f"| {label} | {cell(wk, threads, 'decode')} | {cell(llama, threads, 'decode')} | "
              f"{cell(wk, threads, 'prefill')} | {cell(llama, threads, 'prefill')} |")


if __name__ == "__main__":
    main()
