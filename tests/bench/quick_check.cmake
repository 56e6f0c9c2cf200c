# ctest's sales_bench_quick: runs `sales_bench --quick` against the test run's broker
# (SALES_TEST_KAFKA_BOOTSTRAP) and checks that it wrote every figure with a sane value. Timing is
# not asserted: the quick figures come from tiny counts on a busy machine and mean nothing.
#   cmake -DBENCH=<sales_bench> -DOUT=<results.json> -P quick_check.cmake
file(REMOVE ${OUT})
execute_process(COMMAND ${BENCH} --quick --out=${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sales_bench --quick failed (exit ${rc})")
endif()
file(READ ${OUT} json)

# key:lowest sane value:highest sane value
set(figures
  raw_produce_per_s:1:1e9
  raw_consume_per_s:1:1e9
  rocksdb_batch_rows_per_s:1:1e9
  capture_p50_ms_at_1k:0:60000
  capture_p99_ms_at_1k:0:60000
  peak_commands_per_s:1:1e9
  import_leads_per_s:1:1e9
  append_to_query_p99_ms:0:60000
  rebuild_events_per_s:1:1e9
  rebuild_vs_raw_consume:0:1000
  rebuild_peak_rss_mb:1:100000
  offer_draft_send_p50_ms_at_500:0:60000
  offer_draft_send_p99_ms_at_500:0:60000
  offers_rebuild_events_per_s:1:1e9
  offers_rebuild_vs_raw_consume:0:1000
  offers_rebuild_peak_rss_mb:1:100000
  support_rebuild_events_per_s:1:1e9
  support_rebuild_vs_raw_consume:0:1000
  support_rebuild_peak_rss_mb:1:100000
  pbx_intake_records_per_s:1:1e9
  reporting_rebuild_events_per_s:1:1e9
  reporting_rebuild_vs_raw_consume:0:1000
  reporting_rebuild_peak_rss_mb:1:100000
  report_year_by_month_p50_ms:0:60000
  report_year_by_month_p99_ms:0:60000
  report_funnel_p99_ms:0:60000
  report_cycle_times_p99_ms:0:60000
  report_lost_reasons_p99_ms:0:60000
  report_scorecards_p99_ms:0:60000
  report_products_p99_ms:0:60000
  report_client_revenue_p99_ms:0:60000
  report_concentration_p99_ms:0:60000
  report_inbound_calls_p99_ms:0:60000
  report_pipeline_p99_ms:0:60000
  append_to_report_p50_ms:0:60000
  append_to_report_p99_ms:0:60000)
foreach(figure IN LISTS figures)
  string(REPLACE ":" ";" figure "${figure}")
  list(GET figure 0 key)
  list(GET figure 1 low)
  list(GET figure 2 high)
  string(JSON type ERROR_VARIABLE err TYPE "${json}" ${key})
  if(err OR NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "${OUT}: ${key} is missing or not a number (${type}${err})")
  endif()
  string(JSON value GET "${json}" ${key})
  # CMake compares numbers as floating point in EXPR-less if(): LESS/GREATER take decimals.
  if(value LESS ${low} OR value GREATER ${high} OR (value EQUAL 0 AND NOT low EQUAL 0))
    message(FATAL_ERROR "${OUT}: ${key} = ${value} is outside [${low}, ${high}]")
  endif()
  message(STATUS "${key} = ${value}")
endforeach()
foreach(latency IN ITEMS capture_%_ms_at_1k offer_draft_send_%_ms_at_500)
  string(REPLACE "%" "p50" p50_key ${latency})
  string(REPLACE "%" "p99" p99_key ${latency})
  string(JSON p50 GET "${json}" ${p50_key})
  string(JSON p99 GET "${json}" ${p99_key})
  if(p50 GREATER p99)
    message(FATAL_ERROR "${OUT}: ${p50_key} ${p50} > ${p99_key} ${p99}")
  endif()
endforeach()
