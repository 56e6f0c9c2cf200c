#!/usr/bin/env bash
# `make run`'s demo: shows the lead acquisition service working with the standard gRPC client
# (grpcurl, through server reflection) and salesctl. Idempotent: every command carries a fixed
# idempotency key, so running it again (every `make run`) records nothing new; the service answers
# the first results again ("replayed": true).
#
#   demo.sh BUILD_DIR [HOST:PORT]     the target defaults to 127.0.0.1:50051
#
# tests/readme-test.sh runs it before the README's examples, which expect what it leaves behind:
# manager Anna (anna@example.gr, GR-ATT, crm-pro, telephone extension 201), lead Eleni (eleni@example.gr) and the leads of
# deploy/local/sample-leads.csv.
set -euo pipefail
build=$1
target=${2:-127.0.0.1:50051}
root=$(cd "$(dirname "$0")/../.." && pwd)
grpcurl=${SALES_GRPCURL:-${SALES_TOOLS_DIR:-$HOME/.cache/sales-platform/bin}/grpcurl}

echo "demo: registering a sales manager for Attica (leads there are assigned automatically):"
anna=$("$grpcurl" -plaintext -d '{"idempotency_key":"demo-manager-anna","name":"Άννα Κωστάκη","email":"anna@example.gr",
  "regions":["GR-ATT"],"products":["crm-pro"]}' "$target" sales.api.v1.LeadAcquisition/RegisterManager)
echo "$anna"
anna_id=$(echo "$anna" | sed -n 's/.*"manager_id": "\([^"]*\)".*/\1/p')
# Her telephone extension, for client support's PBX calls (a separate command: a state left by an
# earlier `make run` registered her without one, and a key must keep meaning the same request).
"$grpcurl" -plaintext -d "{\"idempotency_key\":\"demo-manager-anna-extension-201\",\"manager_id\":\"$anna_id\",
  \"extension\":\"201\"}" "$target" sales.api.v1.LeadAcquisition/SetManagerExtension >/dev/null
echo
echo "demo: capturing a lead:"
echo "  grpcurl -plaintext -d '{...}' $target sales.api.v1.LeadAcquisition/CaptureLead"
reply=$("$grpcurl" -plaintext -H "x-actor: make-run-demo" -d @ "$target" \
  sales.api.v1.LeadAcquisition/CaptureLead <<'JSON'
{"idempotency_key": "demo-lead-eleni", "name": "Ελένη Παππά", "company": "Παππάς & Υιοί Α.Ε.",
 "email": "eleni@example.gr", "phone": "+30 210 555 0101", "source": "LEAD_SOURCE_WEB_FORM",
 "region": "GR-ATT", "product_interest": ["crm-pro"]}
JSON
)
echo "$reply"
lead_id=$(echo "$reply" | sed -n 's/.*"lead_\?[iI]d": "\([^"]*\)".*/\1/p')
# make run's demo of the next stages goes on from this lead.
if [ -n "${DEMO_LEAD_ID_FILE:-}" ]; then echo "$lead_id" >"$DEMO_LEAD_ID_FILE"; fi
echo "demo: reading it back:"
"$grpcurl" -plaintext -d "{\"lead_id\": \"$lead_id\"}" "$target" sales.api.v1.LeadAcquisition/GetLead
echo "demo: importing deploy/local/sample-leads.csv with salesctl:"
"$build/tools/salesctl/salesctl" --target="$target" import "$root/deploy/local/sample-leads.csv" || true
echo "demo: where each consumer stands (salesctl status):"
"$build/tools/salesctl/salesctl" --target="$target" status
