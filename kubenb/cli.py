"""The ``kubenb`` command: ``kubenb serve`` runs the embedded cluster in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubenb", description="kubenb: a Kubernetes cluster that lives in a Python process.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="run the embedded cluster in the foreground",
        description=(
            "Run the embedded Kubernetes cluster in the foreground: the API server, the "
            "controllers, the scheduler and simulated nodes whose kubelets run pods without "
            "containers. The API server listens on 127.0.0.1 "
            "over HTTPS with a CA and certificate made at start and a random bearer token, "
            "writes a kubeconfig (context 'kubenb') that kubectl and the official clients use "
            "unchanged, prints one line containing 'ready' and the kubeconfig path once it "
            "accepts requests, and exits 0 on SIGINT or SIGTERM."),
        epilog="Example: run `kubenb serve --nodes 3 --kubeconfig ./kubeconfig`, then, in another "
               "terminal, `kubectl --kubeconfig ./kubeconfig get nodes`.")
    serve.add_argument("--port", type=int, default=0,
                       help="TCP port on 127.0.0.1 (default: a free port chosen at start)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; anything else exposes the "
                            "cluster to the network)")
    serve.add_argument("--kubeconfig", default=None,
                       help="where to write the kubeconfig (default: ./kubenb.kubeconfig)")
    serve.add_argument("--nodes", type=int, default=0,
                       help="start N simulated nodes named node-1..node-N (default 0)")
    serve.add_argument("--speed", default="1",
                       help="cluster clock: 1 is real time, 10 ten times faster, 'max' a virtual "
                            "clock that jumps ahead whenever nothing is left to do (default 1)")
    serve.add_argument("--no-controllers", action="store_true",
                       help="serve the API only: no controllers, scheduler or kubelets; nodes "
                            "are static Ready objects")
    serve.add_argument("--state", default=None,
                       help="SQLite file that keeps the cluster state across restarts "
                            "(default: in memory only)")
    serve.add_argument("--event-ttl", type=float, default=None, metavar="SECONDS",
                       help="how long an Event lives after its last write, in cluster seconds; "
                            "0 keeps them for ever (default 3600, kube-apiserver's --event-ttl)")
    serve.add_argument("--insecure-http", action="store_true",
                       help="serve plain HTTP without authentication (debugging only)")
    serve.add_argument("--token", default=None,
                       help="bearer token to require (default: a random one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2


def _serve(args: argparse.Namespace) -> int:
    from kubenb.cluster import EVENT_TTL, Cluster

    if args.nodes < 0:
        print("kubenb serve: --nodes must be >= 0", file=sys.stderr)
        return 2
    from kubenb.runtime.clock import make_clock

    try:
        clock = make_clock(args.speed)
    except ValueError as exc:
        print(f"kubenb serve: --speed: {exc}", file=sys.stderr)
        return 2
    if args.event_ttl is not None and args.event_ttl < 0:
        print("kubenb serve: --event-ttl must be >= 0", file=sys.stderr)
        return 2
    kubeconfig = args.kubeconfig or os.path.join(os.getcwd(), "kubenb.kubeconfig")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster = Cluster(nodes=args.nodes, port=args.port, host=args.host,
                          kubeconfig=kubeconfig, tls=not args.insecure_http, state=args.state,
                          token=args.token, clock=clock,
                          controllers=not args.no_controllers,
                          event_ttl=EVENT_TTL if args.event_ttl is None else args.event_ttl or None)
        cluster.start()
    except (OSError, RuntimeError) as exc:
        print(f"kubenb serve: {exc}", file=sys.stderr)
        return 1
    print(f"kubenb ready: {cluster.url} kubeconfig={cluster.kubeconfig}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
