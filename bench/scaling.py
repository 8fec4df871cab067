"""Scaling: the end-to-end run (`bench.e2e`) with 1, 2 and 4 gunicorn workers.

    .venv/bin/python -m bench.scaling --broker kafka      # kafka | rabbitmq | all

memory:// cannot share notifications between workers, so this needs Kafka or
RabbitMQ. One database and one broker serve all the runs; each run has fresh
users and a fresh Herald (`WEB_CONCURRENCY=N`). Sockets spread over the workers
as the kernel hands out connections; every worker consumes every notification
with its own group and writes it to the sockets it holds.
"""

import argparse

from bench import harness
from bench.e2e import run_one
from bench.harness import Stack


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default="kafka", choices=["kafka", "rabbitmq", "all"])
    parser.add_argument(
        "--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4]
    )
    parser.add_argument("--receivers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--http-processes", type=int, default=2)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--drain", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="hard limit per broker")
    args = parser.parse_args()
    args.profile = False
    harness.raise_nofile()
    kinds = ["kafka", "rabbitmq"] if args.broker == "all" else [args.broker]
    for kind in kinds:
        with harness.deadline(args.timeout + 60):
            stack = Stack()
            with stack:
                runs = [run_one(kind, args, workers=n, stack=stack) for n in args.workers]
                info = {k: v for k, v in stack.info.items() if not k.startswith("_")}
            harness.save_result(f"scaling-{kind}", {"runs": runs}, info)


if __name__ == "__main__":
    main()
