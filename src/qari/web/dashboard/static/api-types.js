// Generated from /openapi.json by `make api-types` (qari/web/dashboard/api_types.py): do not edit.
// What the /api/v1 routes answer with; a page names one as {import('../api-types.js').X}.
// Times are ISO 8601 strings; money and quantities decimal strings.

/**
 * A user as the operator's list shows it: plan and exchange-connection status (no key material).
 * @typedef {object} AdminUserPublic
 * @property {number} id
 * @property {string} email
 * @property {boolean} is_operator
 * @property {string} created_at - date-time
 * @property {boolean} totp_enabled
 * @property {PlanPublic} plan
 * @property {string} connection_status - none (no key stored) | connected | invalid_credentials | key_or_ip_rejected | permissions_error | unreachable: the most urgent of the user's connections (connected only when every stored key is)
 * @property {Array<UserConnectionPublic>} connections
 */

/**
 * Alert kind -> on/off. A PUT may send only the kinds it changes, wrapped as {"preferences": {...}} or as a flat {"stop_loss": false} map.
 * @typedef {object} AlertPreferences
 * @property {Object<string, boolean>} preferences - entry_leg1, entry_leg2, stop_loss, pt1, pt2, trailing_exit, kill_switch_tripped, kill_switch_cleared, key_invalid, key_permissions_changed, exchange_unreachable, trial_ending, guard_refused, guard_halt, model_trained
 */

/**
 * @typedef {object} AuditPublic
 * @property {number} id
 * @property {string} at - date-time
 * @property {number|null} actor_user_id
 * @property {string|null} [actor_email] - who did it; null for the system
 * @property {string} action
 * @property {Object<string, *>} detail
 * @property {string} [summary] - what happened, in one plain sentence
 */

/**
 * @typedef {object} Candles
 * @property {string} symbol
 * @property {string} timeframe
 * @property {Array<Array<number>>} candles - [ms, open, high, low, close, volume], oldest first
 */

/**
 * @typedef {object} CloseRequested
 * @property {number} id
 * @property {string} symbol
 * @property {string} state
 * @property {string} close_requested_at - date-time
 * @property {string} message
 */

/**
 * @typedef {object} ConnectionPublic
 * @property {number} id
 * @property {string} exchange
 * @property {string} exchange_name
 * @property {string} status - connected | invalid_credentials | key_or_ip_rejected | permissions_error | unreachable
 * @property {string} status_detail
 * @property {string} key_hint - last 4 characters of the API key id
 * @property {boolean|null} ip_restricted
 * @property {Array<string>} ips
 * @property {string|null} [warning] - set when the key is not IP-restricted
 * @property {Object<string, *>} permissions
 * @property {string|null} key_expires_at
 * @property {string|null} verified_at
 * @property {string|null} checked_at
 * @property {boolean} reachable
 * @property {string|null} created_at
 * @property {string|null} updated_at
 */

/**
 * @typedef {object} DataSharing
 * @property {boolean} learning_consent - Share anonymised trade outcomes (R and layer results only)
 */

/**
 * A decision re-run from its stored inputs only: a user decision replays the analysis that made the candidate and then the gate's 16 checks.
 * @typedef {object} DecisionReplay
 * @property {string} decision_id
 * @property {boolean} identical
 * @property {Array<DecisionReplayPart>} replays
 * @property {Array<string>} orders - client order ids of the orders the decision led to
 */

/**
 * @typedef {object} DecisionReplayPart
 * @property {string} decision_id
 * @property {string} kind - analysis (shared, per cycle and symbol) or gate (the caller's)
 * @property {boolean} identical
 * @property {Array<string>} differences - `path: recorded -> replayed`, one per differing value
 * @property {Array<string>} notes - e.g. the engine or weights version changed since the record
 */

/**
 * @typedef {object} EgressIp
 * @property {string} ip
 * @property {"configured"|"detected"|"unknown"} source
 * @property {string} hint
 */

/**
 * @typedef {object} EngineState
 * @property {string} mode - sandbox, live or off
 * @property {string} state - starting, running, off or failed
 * @property {string|null} error
 * @property {string|null} [now] - the engine's clock (the sandbox market's time)
 * @property {number|null} [cycles]
 * @property {number|null} [skipped_cycles]
 * @property {number|null} [failed_ticks]
 * @property {number|null} [failing_ticks] - consecutive failed ticks
 * @property {string|null} [last_cycle_at]
 * @property {number|null} [last_cycle_seconds]
 * @property {number|null} [last_cycle_errors]
 * @property {Object<string, ExchangeHealthPublic>|null} [exchanges]
 * @property {Object<string, number>|null} [metrics] - the engine's counters
 * @property {boolean} platform_engine_enabled - the operator's engine switch
 * @property {boolean} platform_kill_switch
 * @property {boolean} running - running, and not switched off by the operator
 */

/**
 * @typedef {object} EngineStatus
 * @property {string} mode - sandbox, live or off
 * @property {string} state - starting, running, off or failed
 * @property {string|null} error
 * @property {string|null} [now] - the engine's clock (the sandbox market's time)
 * @property {number|null} [cycles]
 * @property {number|null} [skipped_cycles]
 * @property {number|null} [failed_ticks]
 * @property {number|null} [failing_ticks] - consecutive failed ticks
 * @property {string|null} [last_cycle_at]
 * @property {number|null} [last_cycle_seconds]
 * @property {number|null} [last_cycle_errors]
 * @property {Object<string, ExchangeHealthPublic>|null} [exchanges]
 * @property {Object<string, number>|null} [metrics] - the engine's counters
 */

/**
 * @typedef {object} EquityPoint
 * @property {string} time - date-time
 * @property {string|null} value - portfolio value in USDT
 */

/**
 * @typedef {object} ExchangeHealthPublic
 * @property {string} state - up, degraded or maintenance
 * @property {number} consecutive_failures
 * @property {string|null} last_error
 * @property {string|null} last_success_at
 */

/**
 * @typedef {object} FillPublic
 * @property {string} trade_id
 * @property {string} side - buy or sell
 * @property {string|null} price
 * @property {string|null} qty
 * @property {string|null} fee
 * @property {string} fee_currency
 * @property {string} at - date-time
 */

/**
 * @typedef {object} GateEvaluationList
 * @property {Array<GateEvaluationPublic>} evaluations - newest first
 */

/**
 * One risk gate evaluation, passed or blocked, with its 16 check results.
 * @typedef {object} GateEvaluationPublic
 * @property {number} id
 * @property {string} symbol
 * @property {string} exchange
 * @property {boolean} passed
 * @property {string|null} blocking_code - the first failing check (G01..G16)
 * @property {string} reason - the headline reason, in words
 * @property {Array<Object<string, *>>} results - every check's result
 * @property {Object<string, *>} candidate - the candidate the gate saw
 * @property {string} at - date-time
 */

/**
 * @typedef {object} Health
 * @property {"ok"|"degraded"} status
 * @property {Array<string>|null} [reasons] - why degraded (left out when ok)
 * @property {EngineStatus|null} [engine] - left out where no engine runs in this process
 */

/**
 * @typedef {object} LastCycle
 * @property {string} at - date-time
 * @property {Array<SchedulerTiming>} scheduler
 * @property {WorkerTiming} workers
 */

/**
 * @typedef {object} LatestScan
 * @property {number} cycle_id
 * @property {string} exchange
 * @property {string} mode
 * @property {string} at - date-time
 * @property {string} finished_at - date-time
 * @property {number} duration_ms
 * @property {string} health - up, degraded or maintenance as the cycle ended
 * @property {boolean} entries_allowed
 * @property {string|null} error
 * @property {number} symbols - symbols analysed
 * @property {number} candidates - symbols with a candidate
 * @property {Array<ScanResult>} results - best score first (ties by symbol)
 * @property {string|null} why_nothing_entered - null: something passed the gate
 */

/**
 * One analysis layer's verdict as the engine recorded it at entry.
 * @typedef {object} LayerResultPublic
 * @property {number} layer - the layer's number, 1..11
 * @property {string} name
 * @property {string} vote - agree, neutral, against or abstain
 * @property {number} score - 0..1
 * @property {string} explanation
 * @property {Object<string, *>} evidence - the figures the layer decided on
 */

/**
 * An open position marked at the exchange's last price (null: the exchange did not quote it).
 * @typedef {object} MarkedPosition
 * @property {number} id
 * @property {string} symbol
 * @property {string} exchange
 * @property {string} state - pending, open, pt1_taken, pt2_taken, …
 * @property {string} leg2_state
 * @property {string|null} entry_price - Leg 1 limit price
 * @property {string|null} blended_entry - average price paid for everything bought
 * @property {string|null} stop_price
 * @property {string} stop_mode
 * @property {string} stop_protection - how the stop is guarded, in words
 * @property {string|null} pt1
 * @property {string|null} pt2
 * @property {string|null} qty - held quantity
 * @property {string|null} bought_qty
 * @property {string|null} sold_qty
 * @property {string|null} one_r_usdt - the planned loss at the stop, in USDT
 * @property {string|null} fees_usdt
 * @property {string|null} pnl_usdt
 * @property {string|null} pnl_r
 * @property {string|null} exit_reason
 * @property {string} explanation
 * @property {string|null} exit_price - average price of everything sold so far
 * @property {string|null} close_requested_at - set while a 'close now' is being carried out
 * @property {string} opened_at - date-time
 * @property {string|null} closed_at
 * @property {number|null} duration_seconds
 * @property {string|null} mark_price
 * @property {string|null} value_usdt - held quantity at the mark
 * @property {string|null} unrealised_pnl_usdt
 * @property {string|null} unrealised_r
 */

/**
 * @typedef {object} ModelVersionPublic
 * @property {string} version
 * @property {number} stage
 * @property {string} source
 * @property {string} data_from - date-time
 * @property {string} data_to - date-time
 * @property {number} samples
 * @property {Object<string, *>} metrics
 * @property {Object<string, *>|null} weights
 * @property {boolean} active
 * @property {number|null} activated_by
 * @property {string|null} activated_at
 */

/**
 * @typedef {object} ModelsPage
 * @property {number} active_stage
 * @property {string} active_version
 * @property {number} live_samples
 * @property {number} [stage2_min_trades]
 * @property {Array<ModelVersionPublic>} versions
 */

/**
 * @typedef {object} OperationsPublic
 * @property {boolean} task_engine - units run on `qari worker` processes (a broker is configured)
 * @property {number} window_minutes
 * @property {Array<WorkerSeen>} workers
 * @property {QueueDepthPublic|null} queue
 * @property {LastCycle|null} last_cycle
 */

/**
 * @typedef {object} OrderPublic
 * @property {string} client_order_id
 * @property {string} role - leg1, leg2, stop, pt1, pt2, exit, …
 * @property {string} side - buy or sell
 * @property {string} type
 * @property {string|null} qty
 * @property {string|null} price
 * @property {string|null} trigger_price
 * @property {string} state
 * @property {string|null} filled
 * @property {string|null} avg_price
 * @property {string|null} fee
 * @property {string|null} fee_currency
 * @property {string} created_at - date-time
 */

/**
 * @typedef {object} PasswordRules
 * @property {Array<string>} rules - every rule a new password must meet, in words
 */

/**
 * @typedef {object} PlanPublic
 * @property {string} tier
 * @property {string} name
 * @property {number} capacity
 * @property {string} price_usd_month
 * @property {Array<string>} features
 * @property {string} trial_ends_at - date-time
 * @property {string|null} active_until
 * @property {boolean} waiver
 * @property {boolean} active
 * @property {string} reason
 */

/**
 * @typedef {object} PlatformPublic
 * @property {boolean} engine_enabled
 * @property {boolean} kill_switch
 * @property {Array<string>} blacklist
 * @property {string|null} updated_at
 */

/**
 * The money fields and `equity` are left out when no exchange is connected or it cannot be reached; `error` then says which.
 * @typedef {object} PortfolioPublic
 * @property {string} as_of - date-time
 * @property {string} quote
 * @property {string|null} exchange - the connected exchange the value is read from
 * @property {boolean} connected
 * @property {string|null} error
 * @property {string|null} [free_usdt]
 * @property {string|null} [locked_usdt] - USDT held by open orders
 * @property {string|null} [positions_usdt] - open positions at their marks
 * @property {string|null} [total_usdt]
 * @property {Array<MarkedPosition>} positions
 * @property {Array<EquityPoint>} [equity] - realised-P&L path ending at today's value, oldest first
 */

/**
 * @typedef {object} PositionEventPublic
 * @property {string} at - date-time
 * @property {string} kind
 * @property {string} message
 */

/**
 * @typedef {object} PositionList
 * @property {Array<PositionPublic>} positions
 */

/**
 * One open position (pending Leg 1 included); money and quantities as decimal strings.
 * @typedef {object} PositionPublic
 * @property {number} id
 * @property {string} symbol
 * @property {string} exchange
 * @property {string} state - pending, open, pt1_taken, pt2_taken, …
 * @property {string} leg2_state
 * @property {string|null} entry_price - Leg 1 limit price
 * @property {string|null} blended_entry - average price paid for everything bought
 * @property {string|null} stop_price
 * @property {string} stop_mode
 * @property {string} stop_protection - how the stop is guarded, in words
 * @property {string|null} pt1
 * @property {string|null} pt2
 * @property {string|null} qty - held quantity
 * @property {string|null} bought_qty
 * @property {string|null} sold_qty
 * @property {string|null} one_r_usdt - the planned loss at the stop, in USDT
 * @property {string|null} fees_usdt
 * @property {string|null} pnl_usdt
 * @property {string|null} pnl_r
 * @property {string|null} exit_reason
 * @property {string} explanation
 * @property {string|null} exit_price - average price of everything sold so far
 * @property {string|null} close_requested_at - set while a 'close now' is being carried out
 * @property {string} opened_at - date-time
 * @property {string|null} closed_at
 * @property {number|null} duration_seconds
 */

/**
 * @typedef {object} ProfitBucket
 * @property {number} trades
 * @property {number} wins - trades closed with a profit
 * @property {string|null} pnl_usdt
 * @property {string|null} pnl_r
 */

/**
 * @typedef {object} ProfitByDay
 * @property {number} trades
 * @property {number} wins - trades closed with a profit
 * @property {string|null} pnl_usdt
 * @property {string|null} pnl_r
 * @property {string} day - UTC day of the close
 */

/**
 * @typedef {object} ProfitByPair
 * @property {number} trades
 * @property {number} wins - trades closed with a profit
 * @property {string|null} pnl_usdt
 * @property {string|null} pnl_r
 * @property {string} symbol
 */

/**
 * @typedef {object} ProfitSummary
 * @property {Array<ProfitByDay>} by_day - newest day first
 * @property {Array<ProfitByPair>} by_pair - most profitable pair first
 * @property {ProfitBucket} total
 */

/**
 * @typedef {object} QueueDepthPublic
 * @property {string} queue
 * @property {boolean} reachable
 * @property {number|null} [ready]
 * @property {number|null} [delayed]
 * @property {number|null} [dead]
 * @property {string|null} [error]
 */

/**
 * Today's (UTC) and this ISO week's realised R against the limits, and whether entries halt.
 * @typedef {object} RTracker
 * @property {RWindow} today
 * @property {RWindow} week
 * @property {boolean} halted
 * @property {string} reason
 * @property {string|null} halted_until
 * @property {number} trades_this_week
 */

/**
 * @typedef {object} RWindow
 * @property {string} realised_r - realised R in the window (decimal string)
 * @property {string} limit_r - the loss limit, negative (decimal string)
 * @property {string} start - date-time
 * @property {string} end - date-time
 */

/**
 * @typedef {object} RegistrationAccepted
 * @property {string} detail - the same for a new and an already registered e-mail
 */

/**
 * @typedef {object} RiskSettingsPublic
 * @property {boolean} auto_trading - Open new trades automatically (gate check 01)
 * @property {string} allocation_mode - 'fixed' USDT per trade or 'percent' of free USDT
 * @property {string} allocation_value
 * @property {number} max_positions - Maximum concurrent positions (at most the plan's capacity)
 * @property {string} stop_loss_pct - Stop-loss distance from the entry, 10–30 %
 * @property {Array<string>} personal_blacklist - Symbols never traded for this user, e.g. DOGE/USDT
 * @property {string} daily_loss_limit_r - Daily kill-switch limit in R (at most 2)
 * @property {string} weekly_loss_limit_r - Weekly kill-switch limit in R (at most 5)
 * @property {number} spread_limit_bps
 * @property {number} cooldown_hours
 * @property {string|null} guard_order_cap_usdt - Your own cap on one buy order in USDT (null: the plan's); only a lower one applies
 * @property {string|null} guard_day_cap_usdt - Your own cap on a UTC day's buy orders in USDT (null: the plan's); only lower applies
 * @property {number} plan_capacity
 * @property {Object<string, *>} limits
 */

/**
 * @typedef {object} SandboxClock
 * @property {string} now - the market time
 * @property {string} mode - how the clock runs (replay: a recorded market at `speed`)
 * @property {number|null} speed - market seconds per real second; null: not adjustable
 * @property {boolean} adjustable
 * @property {number} max_speed
 */

/**
 * The analysis candidate's levels (decimal strings) and its explanation.
 * @typedef {object} ScanCandidate
 * @property {string} entry_low
 * @property {string} entry_high
 * @property {string} stop
 * @property {string} pt1
 * @property {string} pt2
 * @property {string} explanation
 */

/**
 * What the caller's risk gate decided for the symbol this cycle.
 * @typedef {object} ScanGate
 * @property {boolean} passed
 * @property {string|null} blocking_code - the first failing check (G01..G16, or 'personal')
 * @property {string|null} reason
 */

/**
 * @typedef {object} ScanResult
 * @property {string} symbol
 * @property {number} score
 * @property {number} agreeing - how many layers agreed
 * @property {Array<number>} layers_agreed
 * @property {Array<string>} vetoes
 * @property {ScanCandidate|null} candidate - null: no setup passed Stage 1 confluence
 * @property {ScanGate|null} gate - null: the caller's gate did not evaluate the symbol
 * @property {string|null} decision_id - for GET /decisions/{id}/replay, where records are kept
 * @property {string} why - why the symbol was or was not entered, in words
 */

/**
 * @typedef {object} SchedulerTiming
 * @property {string} exchange_id
 * @property {number} seconds - the scheduler's cycle for this exchange: market data, analysis, units
 * @property {number} users
 * @property {number} errors
 */

/**
 * @typedef {object} TelegramLinkCode
 * @property {string} code
 * @property {string} deep_link
 * @property {string} expires_at - date-time
 */

/**
 * `enabled` is False when the server has no bot token; `message` then says what the operator must do.
 * @typedef {object} TelegramStatus
 * @property {boolean} enabled
 * @property {string|null} [message]
 * @property {string|null} [bot_username]
 * @property {boolean} linked
 * @property {string|null} [linked_at]
 */

/**
 * @typedef {object} TokenPublic
 * @property {string} access_token
 * @property {string} [token_type]
 * @property {string} csrf_token
 * @property {string} expires_at - date-time
 */

/**
 * @typedef {object} TotpEnrolment
 * @property {string} secret
 * @property {string} otpauth_uri
 * @property {string} qr_svg - the otpauth URI as a QR code: an SVG `data:` URI drawn here (segno)
 */

/**
 * @typedef {object} TradeList
 * @property {Array<TradePublic>} trades
 */

/**
 * One trade of the journal: the position with the records behind it.
 * @typedef {object} TradePublic
 * @property {number} id
 * @property {string} symbol
 * @property {string} exchange
 * @property {string} state - pending, open, pt1_taken, pt2_taken, …
 * @property {string} leg2_state
 * @property {string|null} entry_price - Leg 1 limit price
 * @property {string|null} blended_entry - average price paid for everything bought
 * @property {string|null} stop_price
 * @property {string} stop_mode
 * @property {string} stop_protection - how the stop is guarded, in words
 * @property {string|null} pt1
 * @property {string|null} pt2
 * @property {string|null} qty - held quantity
 * @property {string|null} bought_qty
 * @property {string|null} sold_qty
 * @property {string|null} one_r_usdt - the planned loss at the stop, in USDT
 * @property {string|null} fees_usdt
 * @property {string|null} pnl_usdt
 * @property {string|null} pnl_r
 * @property {string|null} exit_reason
 * @property {string} explanation
 * @property {string|null} exit_price - average price of everything sold so far
 * @property {string|null} close_requested_at - set while a 'close now' is being carried out
 * @property {string} opened_at - date-time
 * @property {string|null} closed_at
 * @property {number|null} duration_seconds
 * @property {Array<LayerResultPublic>} layer_results
 * @property {GateEvaluationPublic|null} gate_evaluation - the gate evaluation that let it in
 * @property {Array<OrderPublic>} orders
 * @property {Array<FillPublic>} fills - oldest first
 * @property {Array<PositionEventPublic>} events - what happened, oldest first
 */

/**
 * @typedef {object} UserConnectionPublic
 * @property {string} exchange
 * @property {string} exchange_name
 * @property {string} status - connected | invalid_credentials | key_or_ip_rejected | permissions_error | unreachable
 * @property {string|null} verified_at - when the key's permissions last passed the check
 */

/**
 * @typedef {object} UserPublic
 * @property {number} id
 * @property {string} email
 * @property {boolean} is_operator
 * @property {string} created_at - date-time
 * @property {boolean} totp_enabled
 * @property {PlanPublic} plan
 */

/**
 * One supported venue, as the venue data (`adapters/exchanges/capabilities`) declares it.
 * @typedef {object} VenuePublic
 * @property {string} id
 * @property {string} name
 * @property {boolean} needs_passphrase
 * @property {boolean} live - a real exchange; false for the built-in sandbox
 * @property {string} spot_stop - market_trigger | stop_limit (the stop rests on the venue) | none (QARI's watchdog)
 * @property {string} key_settings_page - where on the exchange the key's permissions are set
 * @property {string} key_guide - what to enable when creating the key
 * @property {string} key_never - what never to enable (QARI refuses such keys)
 * @property {string} protocol - the API it speaks (ccxt id): the sandbox's is QARI_SANDBOX_PROTOCOL
 */

/**
 * @typedef {object} WorkerSeen
 * @property {string} name - host:pid of a `qari worker` process
 * @property {number} units - units it recorded in the window
 * @property {string} last_seen - date-time
 * @property {number|null} mean_seconds
 */

/**
 * @typedef {object} WorkerTiming
 * @property {number} units
 * @property {number} workers
 * @property {number|null} mean_seconds
 * @property {number|null} max_seconds
 */

export {};
