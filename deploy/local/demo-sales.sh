#!/usr/bin/env bash
# `make run`'s demo sales after deploy/local/demo.sh (which captured Eleni's lead): the lead is
# qualified, offered, accepted (a client in client support) and calls once; then
# deploy/local/demo-history.sh records a few months of history. The dashboard's browser test
# (services/reporting/tests/dashboard_browser_test.sh) seeds its services with the same, so the
# pages it checks are the pages `make run` shows. Idempotent (fixed idempotency keys).
#
#   demo-sales.sh GRPCURL KAFKA_BOOTSTRAP LEADS OFFERS SUPPORT REPORTING LEAD_ID STATE_DIR [TOPIC_PREFIX]
#     (addresses HOST:PORT; LEAD_ID: Eleni's lead from demo.sh; STATE_DIR: demo-client-id is
#     written there; TOPIC_PREFIX: the services' --topic-prefix, if any)
set -uo pipefail
grpcurl=$1 kafka=$2 leads=$3 offers=$4 support=$5 reporting=$6 lead=$7 state=$8 prefix=${9:-}
here=$(cd "$(dirname "$0")" && pwd)
g="$grpcurl -plaintext -H x-actor:make-run-demo"

demo_offer() {  # lead_id: qualified -> catalogue -> first offer drafted, sent, accepted
  local lead=$1 until day reply offer
  until=$(date -u -d "+30 days" +%Y-%m-%dT00:00:00Z)
  day=$(date -u +%F)
  echo "run: qualifying the lead (lead acquisition), which opens an opportunity in first offers:"
  $g -d "{\"idempotency_key\":\"demo-qualify-$lead\",\"lead_id\":\"$lead\",\"need\":\"CRM for 12 sales people\",
    \"budget\":\"10k EUR\",\"timeline\":\"Q1\",\"decision_maker\":\"owner\"}" \
    "$leads" sales.api.v1.LeadAcquisition/QualifyLead >/dev/null || true
  $g -d '{"idempotency_key":"demo-product-crm-pro","code":"crm-pro","name":"CRM Pro, άδεια χρήστη",
    "list_price":{"units":"4990","currency":"EUR"},"unit_cost":{"units":"1200","currency":"EUR"}}' \
    "$offers" sales.api.v1.FirstOffers/UpsertProduct >/dev/null
  for _ in $(seq 1 50); do  # the qualification travels through sales.leads
    $g -d "{\"lead_id\":\"$lead\"}" "$offers" sales.api.v1.FirstOffers/GetOpportunity >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "run: drafting, sending and accepting a first offer (first offers):"
  reply=$($g -d "{\"idempotency_key\":\"demo-offer-$lead-$day\",\"lead_id\":\"$lead\",\"terms\":{\"currency\":\"EUR\",
    \"lines\":[{\"product_code\":\"crm-pro\",\"quantity\":\"12\",\"discount_bp\":500}],\"valid_until\":\"$until\",
    \"payment_terms\":\"PAYMENT_TERMS_NET_30\"}}" "$offers" sales.api.v1.FirstOffers/DraftOffer) || return 0
  offer=$(echo "$reply" | sed -n 's/.*"offer_id": "\([^"]*\)".*/\1/p')
  $g -d "{\"idempotency_key\":\"demo-send-$offer\",\"offer_id\":\"$offer\"}" "$offers" \
    sales.api.v1.FirstOffers/SendOffer >/dev/null || true
  $g -d "{\"idempotency_key\":\"demo-accept-$offer\",\"offer_id\":\"$offer\"}" "$offers" \
    sales.api.v1.FirstOffers/AcceptOffer || true
  $g -d "{\"offer_id\":\"$offer\"}" "$offers" sales.api.v1.FirstOffers/GetOffer || true
}

demo_client() {  # lead_id: the accepted offer opened a client; a PBX call from its number
  local lead=$1 client=""
  for _ in $(seq 1 50); do  # the acceptance travels through sales.offers
    client=$($g -d "{\"lead_id\":\"$lead\"}" "$support" sales.api.v1.ClientSupport/GetClient \
      2>/dev/null | sed -n 's/.*"client_id": "\([^"]*\)".*/\1/p') && [ -n "$client" ] && break
    sleep 0.1
  done
  [ -n "$client" ] || { echo "run: client support has not opened the client yet"; return 0; }
  echo "$client" >"$state/demo-client-id"
  echo "run: the accepted offer opened client $client (client support); a PBX call record from its number:"
  echo '{"schema_version":1,"call_id":"demo-call-1","from":"210 555 0101","to":"+30 210 000 0000","direction":"inbound","started_at":"2026-11-26T09:15:00+02:00","duration_seconds":240,"answered":true,"extension":"201"}' \
    | kcat -b "$kafka" -P -t "${prefix}telephony.calls.inbound"
  sleep 1
  $g -d "{\"client_id\":\"$client\"}" "$support" sales.api.v1.ClientSupport/GetClient || true
}

demo_offer "$lead"
demo_client "$lead"
"$here/demo-history.sh" "$grpcurl" "$kafka" "$leads" "$offers" "$support" "$reporting" \
  "$(cat "$state/demo-client-id" 2>/dev/null)" "$prefix"
