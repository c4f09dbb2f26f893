#!/bin/sh
# Remake assets/demo.svg (the picture at the top of the README) from a real
# run of the demo in tmux. Needs tmux. Run after a change to the UI.
set -eu
cd "$(dirname "$0")/.."
cargo test --test picture -- --ignored --exact make_demo_picture
