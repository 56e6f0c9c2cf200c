#!/usr/bin/env bash
# `make run`'s demo history: a few months of a small sales team, so that the reports have
# something to show (plans by month, the funnel, lost reasons, scorecards, products, the
# concentration on one client, inbound calls). Everything goes through the services' own APIs;
# what happened earlier is back-dated where the API takes a time (activities, orders, calls), the
# rest happens now. Idempotent: the keys carry the dates they are about, so running it again the
# same month records nothing new.
#
#   demo-history.sh GRPCURL KAFKA_BOOTSTRAP LEADS OFFERS SUPPORT REPORTING CLIENT_ID [TOPIC_PREFIX]
#     (addresses HOST:PORT; CLIENT_ID: the demo's client, Eleni's company, from run.sh;
#     TOPIC_PREFIX: the services' --topic-prefix, if any)
set -uo pipefail
grpcurl=$1 kafka=$2 leads=$3 offers=$4 support=$5 reporting=$6 client=$7 prefix=${8:-}
g() { "$grpcurl" -plaintext -H x-actor:make-run-demo "$@"; }
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" | head -1; }
month() { date -u -d "$(date -u +%Y-%m-01) $1 month" +%Y-%m; }  # month -3 -> three months ago
on() { echo "$(month "$1")-$2T$3:00Z"; }                         # on -2 15 10:30 -> a time then

echo "run: a few months of history for the reports (deploy/local/demo-history.sh):"
anna=$(g -d '{"idempotency_key":"demo-manager-anna","name":"Άννα Κωστάκη","email":"anna@example.gr",
  "regions":["GR-ATT"],"products":["crm-pro"]}' "$leads" sales.api.v1.LeadAcquisition/RegisterManager | field manager_id)
nikos=$(g -d '{"idempotency_key":"demo-manager-nikos","name":"Νίκος Δημητρίου","email":"nikos.dimitriou@example.gr",
  "regions":["GR-MAC"],"products":["crm-pro","erp-lite"],"extension":"212"}' \
  "$leads" sales.api.v1.LeadAcquisition/RegisterManager | field manager_id)
g -d '{"idempotency_key":"demo-product-erp-lite","code":"erp-lite","name":"ERP Lite, ετήσια συνδρομή",
  "list_price":{"units":"120000","currency":"EUR"},"unit_cost":{"units":"45000","currency":"EUR"}}' \
  "$offers" sales.api.v1.FirstOffers/UpsertProduct >/dev/null

# Leads captured now, worked on over the last months (activities back-dated), then qualified,
# offered, won or lost.
lead() {  # key name company region source -> lead id
  g -d "{\"idempotency_key\":\"demo-history-$1\",\"name\":\"$2\",\"company\":\"$3\",\"email\":\"$1@demo.example.gr\",
    \"region\":\"$4\",\"source\":\"$5\",\"product_interest\":[\"crm-pro\"]}" \
    "$leads" sales.api.v1.LeadAcquisition/CaptureLead | field lead_id
}
activity() {  # lead manager type outcome when seconds
  g -d "{\"idempotency_key\":\"demo-history-act-$1-$5\",\"lead_id\":\"$1\",\"manager_id\":\"$2\",\"type\":\"$3\",
    \"outcome\":\"$4\",\"occurred_at\":\"$5\",\"duration_seconds\":$6}" \
    "$leads" sales.api.v1.LeadAcquisition/LogLeadActivity >/dev/null
}
qualify() {
  g -d "{\"idempotency_key\":\"demo-history-qualify-$1\",\"lead_id\":\"$1\",\"need\":\"$2\",\"budget\":\"$3\",
    \"timeline\":\"this quarter\",\"decision_maker\":\"CEO\"}" "$leads" sales.api.v1.LeadAcquisition/QualifyLead >/dev/null
}
offer() {  # lead product quantity -> offer id (drafted and sent)
  local until reply id
  until=$(date -u -d "+30 days" +%Y-%m-%dT00:00:00Z)
  for _ in $(seq 1 50); do  # the qualification travels through sales.leads
    g -d "{\"lead_id\":\"$1\"}" "$offers" sales.api.v1.FirstOffers/GetOpportunity >/dev/null 2>&1 && break
    sleep 0.1
  done
  reply=$(g -d "{\"idempotency_key\":\"demo-history-offer-$1\",\"lead_id\":\"$1\",\"terms\":{\"currency\":\"EUR\",
    \"lines\":[{\"product_code\":\"$2\",\"quantity\":\"$3\"}],\"valid_until\":\"$until\",
    \"payment_terms\":\"PAYMENT_TERMS_NET_30\"}}" "$offers" sales.api.v1.FirstOffers/DraftOffer)
  id=$(echo "$reply" | field offer_id)
  g -d "{\"idempotency_key\":\"demo-history-send-$id\",\"offer_id\":\"$id\"}" "$offers" \
    sales.api.v1.FirstOffers/SendOffer >/dev/null
  echo "$id"
}

kostas=$(lead kostas "Κώστας Ιωάννου" "Ιωάννου Logistics Ο.Ε." GR-ATT LEAD_SOURCE_REFERRAL)
maria=$(lead maria "Μαρία Γεωργίου" "Γεωργίου Τρόφιμα Α.Ε." GR-MAC LEAD_SOURCE_EVENT)
petros=$(lead petros "Πέτρος Νικολάου" "Nikolaou Marine" GR-ATT LEAD_SOURCE_WEB_FORM)
sofia=$(lead sofia "Σοφία Αντωνίου" "Αντωνίου Φαρμακεία" GR-MAC LEAD_SOURCE_MARKETING_SYSTEM)
if [ -z "$kostas$maria$petros$sofia" ] || [ -z "$anna" ] || [ -z "$nikos" ]; then
  echo "run: the demo history could not start (a service did not answer)"; exit 0
fi
activity "$kostas" "$anna" ACTIVITY_TYPE_CALL ACTIVITY_OUTCOME_REACHED "$(on -2 06 09:30)" 900
activity "$kostas" "$anna" ACTIVITY_TYPE_MEETING ACTIVITY_OUTCOME_MEETING_HELD "$(on -2 20 11:00)" 3600
activity "$maria" "$nikos" ACTIVITY_TYPE_CALL ACTIVITY_OUTCOME_NO_ANSWER "$(on -1 03 10:00)" 60
activity "$maria" "$nikos" ACTIVITY_TYPE_CALL ACTIVITY_OUTCOME_REACHED "$(on -1 04 10:15)" 1200
activity "$maria" "$nikos" ACTIVITY_TYPE_EMAIL ACTIVITY_OUTCOME_REACHED "$(on -1 04 12:00)" 600
activity "$petros" "$anna" ACTIVITY_TYPE_CALL ACTIVITY_OUTCOME_REACHED "$(on -1 12 16:00)" 600
activity "$sofia" "$nikos" ACTIVITY_TYPE_CALL ACTIVITY_OUTCOME_NOT_INTERESTED "$(on -1 18 09:00)" 300

qualify "$kostas" "CRM for 25 people" "30k EUR"
qualify "$maria" "ERP for the warehouse" "20k EUR"
qualify "$petros" "CRM for the fleet office" "5k EUR"
g -d "{\"idempotency_key\":\"demo-history-disqualify-$sofia\",\"lead_id\":\"$sofia\",
  \"reason\":\"DISQUALIFICATION_REASON_NO_BUDGET\"}" "$leads" sales.api.v1.LeadAcquisition/DisqualifyLead >/dev/null
won=$(offer "$kostas" crm-pro 25)
g -d "{\"idempotency_key\":\"demo-history-accept-$won\",\"offer_id\":\"$won\"}" "$offers" \
  sales.api.v1.FirstOffers/AcceptOffer >/dev/null
lost=$(offer "$petros" crm-pro 8)
g -d "{\"idempotency_key\":\"demo-history-reject-$lost\",\"offer_id\":\"$lost\",\"reason\":\"REJECTION_REASON_PRICE\",
  \"note\":\"Ο ανταγωνιστής έδωσε 20% έκπτωση\"}" "$offers" sales.api.v1.FirstOffers/RejectOffer >/dev/null
offer "$maria" erp-lite 3 >/dev/null  # sent and still open: the pipeline

# The demo client (Eleni's company) has ordered every month for half a year, and renewed its
# support contract in US dollars three months ago.
if [ -n "$client" ]; then
  for m in -6 -5 -4 -3 -2 -1; do
    g -d "{\"idempotency_key\":\"demo-history-order-$(month "$m")\",\"client_id\":\"$client\",
      \"occurred_at\":\"$(on "$m" 05 10:00)\",\"currency\":\"EUR\",
      \"lines\":[{\"product_code\":\"crm-pro\",\"quantity\":\"$(( 10 - m ))\",\"unit_price\":{\"units\":\"4990\",
      \"currency\":\"EUR\"}}]}" "$support" sales.api.v1.ClientSupport/RecordOrder >/dev/null
  done
  g -d "{\"idempotency_key\":\"demo-history-rate-usd-$(month -3)\",\"currency\":\"USD\",\"day\":\"$(month -3)-01\",
    \"rate\":\"0.9200\"}" "$reporting" sales.api.v1.Reporting/SetExchangeRate >/dev/null
  renewed=$(on -3 12 09:00)
  renewal_end=$(date -u -d "$(month -3)-12 09:00:00 UTC 1 year" +%Y-%m-%dT%H:%M:%SZ)
  g -d "{\"idempotency_key\":\"demo-history-renewal-$(month -3)\",\"client_id\":\"$client\",
    \"occurred_at\":\"$renewed\",\"period_start\":\"$renewed\",
    \"period_end\":\"$renewal_end\",
    \"value\":{\"units\":\"120000\",\"currency\":\"USD\"},\"note\":\"support, one year\"}" \
    "$support" sales.api.v1.ClientSupport/RecordRenewal >/dev/null
fi

# Inbound calls two days ago: one answered by Anna, one to Nikos missed and not returned.
two_days_ago=$(date -u -d "-2 days" +%Y-%m-%dT)
printf '%s\n' \
  "{\"schema_version\":1,\"call_id\":\"demo-history-call-$(month 0)-1\",\"from\":\"210 555 0101\",\"to\":\"+30 210 000 0000\",\"direction\":\"inbound\",\"started_at\":\"${two_days_ago}08:40:00Z\",\"duration_seconds\":300,\"answered\":true,\"extension\":\"201\"}" \
  "{\"schema_version\":1,\"call_id\":\"demo-history-call-$(month 0)-2\",\"from\":\"2310 444 777\",\"to\":\"+30 210 000 0000\",\"direction\":\"inbound\",\"started_at\":\"${two_days_ago}13:05:00Z\",\"duration_seconds\":0,\"answered\":false,\"extension\":\"212\"}" \
  | kcat -b "$kafka" -P -t "${prefix}telephony.calls.inbound"

# Plans: company revenue per month (the last six and this one), each manager's for the quarter.
for m in -6 -5 -4 -3 -2 -1 0; do
  g -d "{\"idempotency_key\":\"demo-history-target-$(month "$m")\",\"period\":\"$(month "$m")\",
    \"metric\":\"PLAN_METRIC_REVENUE\",\"dimension\":\"PLAN_DIMENSION_COMPANY\",
    \"amount\":{\"units\":\"5000000\",\"currency\":\"EUR\"}}" "$reporting" sales.api.v1.Reporting/SetTarget >/dev/null
done
quarter="$(date -u +%Y)-Q$(( ($(date -u +%-m) - 1) / 3 + 1 ))"
for who in "$anna" "$nikos"; do
  g -d "{\"idempotency_key\":\"demo-history-target-$quarter-$who\",\"period\":\"$quarter\",
    \"metric\":\"PLAN_METRIC_REVENUE\",\"dimension\":\"PLAN_DIMENSION_MANAGER\",\"key\":\"$who\",
    \"amount\":{\"units\":\"6000000\",\"currency\":\"EUR\"}}" "$reporting" sales.api.v1.Reporting/SetTarget >/dev/null
done
echo "run: history recorded: 2 managers, 4 more leads (1 won, 1 lost on price, 1 disqualified, 1 offer open),"
echo "     6 months of orders and a USD renewal from the demo client, 2 inbound calls, monthly and quarterly plans."
