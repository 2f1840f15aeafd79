/*
 * sweep.c -- every numeric input by name, and batched evaluation of design
 * points (one C call per chunk of a sweep).
 *
 * The registry maps a dotted name to a field of ahasd_config (its type and
 * offset).  Aliases name the same field ("pim.internal_bw_bytes_per_s" is
 * the PIM's mem_bw_bytes_per_s).  "alpha" is special: setting it replaces
 * the profile by an i.i.d. one (B = 1, acceptance alpha).  Values are
 * checked for type (integers must be integral and fit an int) and
 * finiteness here; ranges are checked by the validators when the point runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

typedef struct {
    const char *name;
    const char *doc;
    int is_int;
    size_t off;
} param_def;

#define PARAM_ALPHA_DOC "i.i.d. acceptance probability (sets a one-bucket profile)"

static const param_def params[] = {
    {"prompt_len", "prompt tokens already cached", 1, offsetof(ahasd_config, prompt_len)},
    {"gen_len", "tokens generated", 1, offsetof(ahasd_config, gen_len)},
    {"l_max", "async queue capacity, batches", 1, offsetof(ahasd_config, l_max)},
    {"m_max", "TVC max tokens per pre-verification", 1, offsetof(ahasd_config, m_max)},
    {"k_design", "partitioned design draft length (0: mean K)", 1, offsetof(ahasd_config, k_design)},
    {"segments", "context segments of an estimate", 1, offsetof(ahasd_config, segments)},
    {"tvc_predictor", "simulator TVC predictor: 0 moving average, 1 exact", 1, offsetof(ahasd_config, tvc_predictor)},
    {"schedule", "schedule enum (AHASD_SCHED_*)", 1, offsetof(ahasd_config, schedule)},
    {"use_explicit_costs", "1: explicit task costs", 1, offsetof(ahasd_config, use_explicit_costs)},
    {"k", "fixed draft length", 1, offsetof(ahasd_config, policy.k)},
    {"k_min", "minimum draft length", 1, offsetof(ahasd_config, policy.k_min)},
    {"k_max", "maximum draft length", 1, offsetof(ahasd_config, policy.k_max)},
    {"svip_h", "SVIP threshold h (stop when sqrt(c H) > h)", 0, offsetof(ahasd_config, policy.svip_h)},
    {"svip_c", "SVIP constant c", 0, offsetof(ahasd_config, policy.svip_c)},
    {"adaedl_gamma", "AdaEDL gamma", 0, offsetof(ahasd_config, policy.adaedl_gamma)},
    {"adaedl_lambda", "AdaEDL threshold lambda", 0, offsetof(ahasd_config, policy.adaedl_lambda)},
    {"specdecpp_tau", "SpecDec++ stop threshold tau", 0, offsetof(ahasd_config, policy.specdecpp_tau)},
    {"specdecpp_grid", "SpecDec++ fixed-point steps", 1, offsetof(ahasd_config, policy.specdecpp_grid)},
    {"bandit_explore", "BanditSpec UCB exploration constant", 0, offsetof(ahasd_config, policy.bandit_explore)},
    {"bandit_cost_ratio", "BanditSpec draft/verify cost ratio (<=0: from hardware)", 0, offsetof(ahasd_config, policy.bandit_cost_ratio)},
    {"policy", "policy enum (AHASD_POLICY_*)", 1, offsetof(ahasd_config, policy.kind)},
    {"h_max", "entropy upper bound, nats", 0, offsetof(ahasd_config, profile.h_max)},
    {"position_decay", "acceptance decay per position", 0, offsetof(ahasd_config, profile.position_decay)},
    {"pred_scale", "SpecDec++ predictor calibration scale", 0, offsetof(ahasd_config, profile.pred_scale)},
    {"buckets", "entropy buckets B", 1, offsetof(ahasd_config, profile.buckets)},
    {"memory_capacity_bytes", "platform memory, bytes", 0, offsetof(ahasd_config, hw.memory_capacity_bytes)},
    {"memory_static_w", "main-memory background power, W", 0, offsetof(ahasd_config, hw.memory_static_w)},
    {"contention", "NPU memory-time stretch while the PIM is busy (0 = independent)", 0, offsetof(ahasd_config, hw.contention)},
    {"sync_s", "handoff per verification, s", 0, offsetof(ahasd_config, hw.sync_s)},
    {"rollback_s", "KV rollback after a rejection, s", 0, offsetof(ahasd_config, hw.rollback_s)},
    {"draft_dev", "draft device index", 1, offsetof(ahasd_config, hw.draft_dev)},
    {"verify_dev", "verify device index", 1, offsetof(ahasd_config, hw.verify_dev)},
    {"nonlinear_host_dev", "host of PIM nonlinear ops", 1, offsetof(ahasd_config, hw.nonlinear_host_dev)},
    {"npu.present", "1 if the device exists", 1, offsetof(ahasd_config, hw.dev[0].present)},
    {"npu.matrix_ops_per_s", "peak matrix throughput, ops/s (2 per MAC)", 0, offsetof(ahasd_config, hw.dev[0].matrix_ops_per_s)},
    {"npu.vector_ops_per_s", "peak vector throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[0].vector_ops_per_s)},
    {"npu.compute_util", "achievable fraction of peak compute, (0, 1]", 0, offsetof(ahasd_config, hw.dev[0].compute_util)},
    {"npu.mem_bw_bytes_per_s", "peak bandwidth to its weights, bytes/s", 0, offsetof(ahasd_config, hw.dev[0].mem_bw_bytes_per_s)},
    {"npu.mem_bw_util", "achievable fraction of mem_bw, (0, 1]", 0, offsetof(ahasd_config, hw.dev[0].mem_bw_util)},
    {"npu.capacity_bytes", "memory holding weights+KV, bytes (0: unlimited)", 0, offsetof(ahasd_config, hw.dev[0].capacity_bytes)},
    {"npu.link_bw_bytes_per_s", "host/overflow link peak, bytes/s", 0, offsetof(ahasd_config, hw.dev[0].link_bw_bytes_per_s)},
    {"npu.link_bw_util", "achievable fraction of the link, (0, 1]", 0, offsetof(ahasd_config, hw.dev[0].link_bw_util)},
    {"npu.onchip_bytes", "scratchpad/SRAM, bytes", 0, offsetof(ahasd_config, hw.dev[0].onchip_bytes)},
    {"npu.matrix_energy_per_op_j", "energy per matrix op, J", 0, offsetof(ahasd_config, hw.dev[0].matrix_energy_per_op_j)},
    {"npu.vector_energy_per_op_j", "energy per vector op, J", 0, offsetof(ahasd_config, hw.dev[0].vector_energy_per_op_j)},
    {"npu.mem_energy_per_byte_j", "energy per byte over the memory path, J", 0, offsetof(ahasd_config, hw.dev[0].mem_energy_per_byte_j)},
    {"npu.link_energy_per_byte_j", "energy per byte over the link, J", 0, offsetof(ahasd_config, hw.dev[0].link_energy_per_byte_j)},
    {"npu.onchip_energy_per_byte_j", "energy per on-chip byte, J", 0, offsetof(ahasd_config, hw.dev[0].onchip_energy_per_byte_j)},
    {"npu.static_w", "static power, W", 0, offsetof(ahasd_config, hw.dev[0].static_w)},
    {"npu.pass_overhead_s", "fixed cost per forward pass, s", 0, offsetof(ahasd_config, hw.dev[0].pass_overhead_s)},
    {"npu.op_overhead_s", "fixed cost per operator, s", 0, offsetof(ahasd_config, hw.dev[0].op_overhead_s)},
    {"npu.units", "PIM units (reporting)", 0, offsetof(ahasd_config, hw.dev[0].units)},
    {"npu.has_aau", "1: PIM nonlinear ops in memory (AAU)", 1, offsetof(ahasd_config, hw.dev[0].has_aau)},
    {"npu.aau_ops_per_s", "AAU throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[0].aau_ops_per_s)},
    {"npu.aau_energy_per_op_j", "AAU energy per op, J", 0, offsetof(ahasd_config, hw.dev[0].aau_energy_per_op_j)},
    {"npu.switch_s", "PIM DLM<->TLM switch latency, s", 0, offsetof(ahasd_config, hw.dev[0].switch_s)},
    {"npu.roundtrip_s", "latency per nonlinear op shipped to host, s", 0, offsetof(ahasd_config, hw.dev[0].roundtrip_s)},
    {"pim.present", "1 if the device exists", 1, offsetof(ahasd_config, hw.dev[1].present)},
    {"pim.matrix_ops_per_s", "peak matrix throughput, ops/s (2 per MAC)", 0, offsetof(ahasd_config, hw.dev[1].matrix_ops_per_s)},
    {"pim.vector_ops_per_s", "peak vector throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[1].vector_ops_per_s)},
    {"pim.compute_util", "achievable fraction of peak compute, (0, 1]", 0, offsetof(ahasd_config, hw.dev[1].compute_util)},
    {"pim.mem_bw_bytes_per_s", "peak bandwidth to its weights, bytes/s", 0, offsetof(ahasd_config, hw.dev[1].mem_bw_bytes_per_s)},
    {"pim.mem_bw_util", "achievable fraction of mem_bw, (0, 1]", 0, offsetof(ahasd_config, hw.dev[1].mem_bw_util)},
    {"pim.capacity_bytes", "memory holding weights+KV, bytes (0: unlimited)", 0, offsetof(ahasd_config, hw.dev[1].capacity_bytes)},
    {"pim.link_bw_bytes_per_s", "host/overflow link peak, bytes/s", 0, offsetof(ahasd_config, hw.dev[1].link_bw_bytes_per_s)},
    {"pim.link_bw_util", "achievable fraction of the link, (0, 1]", 0, offsetof(ahasd_config, hw.dev[1].link_bw_util)},
    {"pim.onchip_bytes", "scratchpad/SRAM, bytes", 0, offsetof(ahasd_config, hw.dev[1].onchip_bytes)},
    {"pim.matrix_energy_per_op_j", "energy per matrix op, J", 0, offsetof(ahasd_config, hw.dev[1].matrix_energy_per_op_j)},
    {"pim.vector_energy_per_op_j", "energy per vector op, J", 0, offsetof(ahasd_config, hw.dev[1].vector_energy_per_op_j)},
    {"pim.mem_energy_per_byte_j", "energy per byte over the memory path, J", 0, offsetof(ahasd_config, hw.dev[1].mem_energy_per_byte_j)},
    {"pim.link_energy_per_byte_j", "energy per byte over the link, J", 0, offsetof(ahasd_config, hw.dev[1].link_energy_per_byte_j)},
    {"pim.onchip_energy_per_byte_j", "energy per on-chip byte, J", 0, offsetof(ahasd_config, hw.dev[1].onchip_energy_per_byte_j)},
    {"pim.static_w", "static power, W", 0, offsetof(ahasd_config, hw.dev[1].static_w)},
    {"pim.pass_overhead_s", "fixed cost per forward pass, s", 0, offsetof(ahasd_config, hw.dev[1].pass_overhead_s)},
    {"pim.op_overhead_s", "fixed cost per operator, s", 0, offsetof(ahasd_config, hw.dev[1].op_overhead_s)},
    {"pim.units", "PIM units (reporting)", 0, offsetof(ahasd_config, hw.dev[1].units)},
    {"pim.has_aau", "1: PIM nonlinear ops in memory (AAU)", 1, offsetof(ahasd_config, hw.dev[1].has_aau)},
    {"pim.aau_ops_per_s", "AAU throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[1].aau_ops_per_s)},
    {"pim.aau_energy_per_op_j", "AAU energy per op, J", 0, offsetof(ahasd_config, hw.dev[1].aau_energy_per_op_j)},
    {"pim.switch_s", "PIM DLM<->TLM switch latency, s", 0, offsetof(ahasd_config, hw.dev[1].switch_s)},
    {"pim.roundtrip_s", "latency per nonlinear op shipped to host, s", 0, offsetof(ahasd_config, hw.dev[1].roundtrip_s)},
    {"gpu.present", "1 if the device exists", 1, offsetof(ahasd_config, hw.dev[2].present)},
    {"gpu.matrix_ops_per_s", "peak matrix throughput, ops/s (2 per MAC)", 0, offsetof(ahasd_config, hw.dev[2].matrix_ops_per_s)},
    {"gpu.vector_ops_per_s", "peak vector throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[2].vector_ops_per_s)},
    {"gpu.compute_util", "achievable fraction of peak compute, (0, 1]", 0, offsetof(ahasd_config, hw.dev[2].compute_util)},
    {"gpu.mem_bw_bytes_per_s", "peak bandwidth to its weights, bytes/s", 0, offsetof(ahasd_config, hw.dev[2].mem_bw_bytes_per_s)},
    {"gpu.mem_bw_util", "achievable fraction of mem_bw, (0, 1]", 0, offsetof(ahasd_config, hw.dev[2].mem_bw_util)},
    {"gpu.capacity_bytes", "memory holding weights+KV, bytes (0: unlimited)", 0, offsetof(ahasd_config, hw.dev[2].capacity_bytes)},
    {"gpu.link_bw_bytes_per_s", "host/overflow link peak, bytes/s", 0, offsetof(ahasd_config, hw.dev[2].link_bw_bytes_per_s)},
    {"gpu.link_bw_util", "achievable fraction of the link, (0, 1]", 0, offsetof(ahasd_config, hw.dev[2].link_bw_util)},
    {"gpu.onchip_bytes", "scratchpad/SRAM, bytes", 0, offsetof(ahasd_config, hw.dev[2].onchip_bytes)},
    {"gpu.matrix_energy_per_op_j", "energy per matrix op, J", 0, offsetof(ahasd_config, hw.dev[2].matrix_energy_per_op_j)},
    {"gpu.vector_energy_per_op_j", "energy per vector op, J", 0, offsetof(ahasd_config, hw.dev[2].vector_energy_per_op_j)},
    {"gpu.mem_energy_per_byte_j", "energy per byte over the memory path, J", 0, offsetof(ahasd_config, hw.dev[2].mem_energy_per_byte_j)},
    {"gpu.link_energy_per_byte_j", "energy per byte over the link, J", 0, offsetof(ahasd_config, hw.dev[2].link_energy_per_byte_j)},
    {"gpu.onchip_energy_per_byte_j", "energy per on-chip byte, J", 0, offsetof(ahasd_config, hw.dev[2].onchip_energy_per_byte_j)},
    {"gpu.static_w", "static power, W", 0, offsetof(ahasd_config, hw.dev[2].static_w)},
    {"gpu.pass_overhead_s", "fixed cost per forward pass, s", 0, offsetof(ahasd_config, hw.dev[2].pass_overhead_s)},
    {"gpu.op_overhead_s", "fixed cost per operator, s", 0, offsetof(ahasd_config, hw.dev[2].op_overhead_s)},
    {"gpu.units", "PIM units (reporting)", 0, offsetof(ahasd_config, hw.dev[2].units)},
    {"gpu.has_aau", "1: PIM nonlinear ops in memory (AAU)", 1, offsetof(ahasd_config, hw.dev[2].has_aau)},
    {"gpu.aau_ops_per_s", "AAU throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[2].aau_ops_per_s)},
    {"gpu.aau_energy_per_op_j", "AAU energy per op, J", 0, offsetof(ahasd_config, hw.dev[2].aau_energy_per_op_j)},
    {"gpu.switch_s", "PIM DLM<->TLM switch latency, s", 0, offsetof(ahasd_config, hw.dev[2].switch_s)},
    {"gpu.roundtrip_s", "latency per nonlinear op shipped to host, s", 0, offsetof(ahasd_config, hw.dev[2].roundtrip_s)},
    {"cpu.present", "1 if the device exists", 1, offsetof(ahasd_config, hw.dev[3].present)},
    {"cpu.matrix_ops_per_s", "peak matrix throughput, ops/s (2 per MAC)", 0, offsetof(ahasd_config, hw.dev[3].matrix_ops_per_s)},
    {"cpu.vector_ops_per_s", "peak vector throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[3].vector_ops_per_s)},
    {"cpu.compute_util", "achievable fraction of peak compute, (0, 1]", 0, offsetof(ahasd_config, hw.dev[3].compute_util)},
    {"cpu.mem_bw_bytes_per_s", "peak bandwidth to its weights, bytes/s", 0, offsetof(ahasd_config, hw.dev[3].mem_bw_bytes_per_s)},
    {"cpu.mem_bw_util", "achievable fraction of mem_bw, (0, 1]", 0, offsetof(ahasd_config, hw.dev[3].mem_bw_util)},
    {"cpu.capacity_bytes", "memory holding weights+KV, bytes (0: unlimited)", 0, offsetof(ahasd_config, hw.dev[3].capacity_bytes)},
    {"cpu.link_bw_bytes_per_s", "host/overflow link peak, bytes/s", 0, offsetof(ahasd_config, hw.dev[3].link_bw_bytes_per_s)},
    {"cpu.link_bw_util", "achievable fraction of the link, (0, 1]", 0, offsetof(ahasd_config, hw.dev[3].link_bw_util)},
    {"cpu.onchip_bytes", "scratchpad/SRAM, bytes", 0, offsetof(ahasd_config, hw.dev[3].onchip_bytes)},
    {"cpu.matrix_energy_per_op_j", "energy per matrix op, J", 0, offsetof(ahasd_config, hw.dev[3].matrix_energy_per_op_j)},
    {"cpu.vector_energy_per_op_j", "energy per vector op, J", 0, offsetof(ahasd_config, hw.dev[3].vector_energy_per_op_j)},
    {"cpu.mem_energy_per_byte_j", "energy per byte over the memory path, J", 0, offsetof(ahasd_config, hw.dev[3].mem_energy_per_byte_j)},
    {"cpu.link_energy_per_byte_j", "energy per byte over the link, J", 0, offsetof(ahasd_config, hw.dev[3].link_energy_per_byte_j)},
    {"cpu.onchip_energy_per_byte_j", "energy per on-chip byte, J", 0, offsetof(ahasd_config, hw.dev[3].onchip_energy_per_byte_j)},
    {"cpu.static_w", "static power, W", 0, offsetof(ahasd_config, hw.dev[3].static_w)},
    {"cpu.pass_overhead_s", "fixed cost per forward pass, s", 0, offsetof(ahasd_config, hw.dev[3].pass_overhead_s)},
    {"cpu.op_overhead_s", "fixed cost per operator, s", 0, offsetof(ahasd_config, hw.dev[3].op_overhead_s)},
    {"cpu.units", "PIM units (reporting)", 0, offsetof(ahasd_config, hw.dev[3].units)},
    {"cpu.has_aau", "1: PIM nonlinear ops in memory (AAU)", 1, offsetof(ahasd_config, hw.dev[3].has_aau)},
    {"cpu.aau_ops_per_s", "AAU throughput, ops/s", 0, offsetof(ahasd_config, hw.dev[3].aau_ops_per_s)},
    {"cpu.aau_energy_per_op_j", "AAU energy per op, J", 0, offsetof(ahasd_config, hw.dev[3].aau_energy_per_op_j)},
    {"cpu.switch_s", "PIM DLM<->TLM switch latency, s", 0, offsetof(ahasd_config, hw.dev[3].switch_s)},
    {"cpu.roundtrip_s", "latency per nonlinear op shipped to host, s", 0, offsetof(ahasd_config, hw.dev[3].roundtrip_s)},
    {"draft.layers", "draft model layers", 1, offsetof(ahasd_config, draft.layers)},
    {"draft.hidden", "draft model hidden", 1, offsetof(ahasd_config, draft.hidden)},
    {"draft.heads", "draft model heads", 1, offsetof(ahasd_config, draft.heads)},
    {"draft.kv_heads", "draft model kv_heads", 1, offsetof(ahasd_config, draft.kv_heads)},
    {"draft.head_dim", "draft model head_dim", 1, offsetof(ahasd_config, draft.head_dim)},
    {"draft.ffn", "draft model ffn", 1, offsetof(ahasd_config, draft.ffn)},
    {"draft.ffn_kind", "draft model ffn_kind", 1, offsetof(ahasd_config, draft.ffn_kind)},
    {"draft.act_kind", "draft model act_kind", 1, offsetof(ahasd_config, draft.act_kind)},
    {"draft.norm_kind", "draft model norm_kind", 1, offsetof(ahasd_config, draft.norm_kind)},
    {"draft.vocab", "draft model vocab", 1, offsetof(ahasd_config, draft.vocab)},
    {"draft.tied_embeddings", "draft model tied_embeddings", 1, offsetof(ahasd_config, draft.tied_embeddings)},
    {"draft.weight_bytes", "draft model weight_bytes", 0, offsetof(ahasd_config, draft.weight_bytes)},
    {"draft.kv_bytes", "draft model kv_bytes", 0, offsetof(ahasd_config, draft.kv_bytes)},
    {"draft.act_bytes", "draft model act_bytes", 0, offsetof(ahasd_config, draft.act_bytes)},
    {"target.layers", "target model layers", 1, offsetof(ahasd_config, target.layers)},
    {"target.hidden", "target model hidden", 1, offsetof(ahasd_config, target.hidden)},
    {"target.heads", "target model heads", 1, offsetof(ahasd_config, target.heads)},
    {"target.kv_heads", "target model kv_heads", 1, offsetof(ahasd_config, target.kv_heads)},
    {"target.head_dim", "target model head_dim", 1, offsetof(ahasd_config, target.head_dim)},
    {"target.ffn", "target model ffn", 1, offsetof(ahasd_config, target.ffn)},
    {"target.ffn_kind", "target model ffn_kind", 1, offsetof(ahasd_config, target.ffn_kind)},
    {"target.act_kind", "target model act_kind", 1, offsetof(ahasd_config, target.act_kind)},
    {"target.norm_kind", "target model norm_kind", 1, offsetof(ahasd_config, target.norm_kind)},
    {"target.vocab", "target model vocab", 1, offsetof(ahasd_config, target.vocab)},
    {"target.tied_embeddings", "target model tied_embeddings", 1, offsetof(ahasd_config, target.tied_embeddings)},
    {"target.weight_bytes", "target model weight_bytes", 0, offsetof(ahasd_config, target.weight_bytes)},
    {"target.kv_bytes", "target model kv_bytes", 0, offsetof(ahasd_config, target.kv_bytes)},
    {"target.act_bytes", "target model act_bytes", 0, offsetof(ahasd_config, target.act_bytes)},
    {"costs.draft_token_s", "explicit cost, s", 0, offsetof(ahasd_config, costs.draft_token_s)},
    {"costs.verify_base_s", "explicit cost, s", 0, offsetof(ahasd_config, costs.verify_base_s)},
    {"costs.verify_per_token_s", "explicit cost, s", 0, offsetof(ahasd_config, costs.verify_per_token_s)},
    {"costs.preverify_token_s", "explicit cost, s", 0, offsetof(ahasd_config, costs.preverify_token_s)},
    {"costs.draft_token_j", "explicit cost, J", 0, offsetof(ahasd_config, costs.draft_token_j)},
    {"costs.verify_base_j", "explicit cost, J", 0, offsetof(ahasd_config, costs.verify_base_j)},
    {"costs.verify_per_token_j", "explicit cost, J", 0, offsetof(ahasd_config, costs.verify_per_token_j)},
    {"costs.preverify_token_j", "explicit cost, J", 0, offsetof(ahasd_config, costs.preverify_token_j)},
    {"costs.sync_s", "explicit cost, s", 0, offsetof(ahasd_config, costs.sync_s)},
    {"costs.rollback_s", "explicit cost, s", 0, offsetof(ahasd_config, costs.rollback_s)},
    {"costs.switch_s", "explicit cost, s", 0, offsetof(ahasd_config, costs.switch_s)},
    {"costs.idle_w.npu", "explicit idle power, W", 0, offsetof(ahasd_config, costs.idle_w[0])},
    {"costs.idle_w.pim", "explicit idle power, W", 0, offsetof(ahasd_config, costs.idle_w[1])},
    {"costs.idle_w.gpu", "explicit idle power, W", 0, offsetof(ahasd_config, costs.idle_w[2])},
    {"costs.idle_w.cpu", "explicit idle power, W", 0, offsetof(ahasd_config, costs.idle_w[3])},
    {"costs.idle_w.mem", "explicit idle power, W", 0, offsetof(ahasd_config, costs.idle_w[4])},
    /* aliases */
    {"pim.internal_bw_bytes_per_s", "PIM internal (bank) bandwidth, bytes/s", 0,
     offsetof(ahasd_config, hw.dev[1].mem_bw_bytes_per_s)},
    {"pim.internal_bw", "PIM internal (bank) bandwidth, bytes/s", 0,
     offsetof(ahasd_config, hw.dev[1].mem_bw_bytes_per_s)},
    {"pim.internal_bw_util", "achievable fraction of PIM internal bandwidth", 0,
     offsetof(ahasd_config, hw.dev[1].mem_bw_util)},
    {"npu.offchip_bw_bytes_per_s", "NPU off-chip (LPDDR5) bandwidth, bytes/s", 0,
     offsetof(ahasd_config, hw.dev[0].mem_bw_bytes_per_s)},
    {"npu.offchip_bw_util", "achievable fraction of NPU off-chip bandwidth", 0,
     offsetof(ahasd_config, hw.dev[0].mem_bw_util)},
};

#define N_FIELDS ((int)(sizeof params / sizeof params[0]))
#define PARAM_ALPHA N_FIELDS         /* the one computed parameter */

int ahasd_param_count(void)
{
    return N_FIELDS + 1;
}

const char *ahasd_param_name(int id)
{
    if (id == PARAM_ALPHA)
        return "alpha";
    if (id < 0 || id >= N_FIELDS)
        return NULL;
    return params[id].name;
}

const char *ahasd_param_doc(int id)
{
    if (id == PARAM_ALPHA)
        return PARAM_ALPHA_DOC;
    if (id < 0 || id >= N_FIELDS)
        return NULL;
    return params[id].doc;
}

int ahasd_param_is_int(int id)
{
    if (id == PARAM_ALPHA)
        return 0;
    if (id < 0 || id >= N_FIELDS)
        return AHASD_ERR_UNKNOWN;
    return params[id].is_int;
}

int ahasd_param_find(const char *name)
{
    int i;

    if (name == NULL)
        return AHASD_ERR_UNKNOWN;
    if (strcmp(name, "alpha") == 0)
        return PARAM_ALPHA;
    for (i = 0; i < N_FIELDS; i++)
        if (strcmp(name, params[i].name) == 0)
            return i;
    return AHASD_ERR_UNKNOWN;
}

/* AHASD_ERR_UNKNOWN unless id names a registry parameter (PARAM_ALPHA last). */
static int param_check_id(int id, ahasd_error *err)
{
    int ret = AHASD_OK;

    if (id < 0 || id > PARAM_ALPHA)
        ret = err_set(err, AHASD_ERR_UNKNOWN, "parameter id %d is not in [0, %d]", id,
                      PARAM_ALPHA);
    return ret;
}

int ahasd_param_set(ahasd_config *cfg, int id, double value, ahasd_error *err)
{
    int ret = AHASD_OK;
    char *base;

    if (cfg == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "config pointer is NULL");
        goto out;
    }
    if ((ret = param_check_id(id, err)))
        goto out;
    if (id == PARAM_ALPHA) {
        ret = ahasd_profile_iid(&cfg->profile, value, err);
        goto out;
    }
    if (!isfinite(value)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM, "%s = %g is not allowed: must be finite",
                      params[id].name, value);
        goto out;
    }
    base = (char *)cfg + params[id].off;
    if (params[id].is_int) {
        if (value != floor(value) || value < -2147483647.0 || value > 2147483647.0) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM,
                          "%s = %g is not allowed: must be an integer", params[id].name, value);
            goto out;
        }
        *(int *)(void *)base = (int)value;
    } else {
        *(double *)(void *)base = value;
    }
out:
    return ret;
}

int ahasd_param_get(const ahasd_config *cfg, int id, double *value, ahasd_error *err)
{
    int ret = AHASD_OK;
    const char *base;

    if (cfg == NULL || value == NULL) {
        ret = err_set(err, AHASD_ERR_NULL, "config and value pointers must not be NULL");
        goto out;
    }
    if ((ret = param_check_id(id, err)))
        goto out;
    if (id == PARAM_ALPHA) {
        if (cfg->profile.buckets != 1) {
            ret = err_set(err, AHASD_ERR_BAD_PARAM,
                          "alpha is defined for an i.i.d. (one-bucket) profile; this profile "
                          "has %d buckets", cfg->profile.buckets);
            goto out;
        }
        *value = cfg->profile.accept[0];
        goto out;
    }
    base = (const char *)cfg + params[id].off;
    *value = params[id].is_int ? (double)*(const int *)(const void *)base
                               : *(const double *)(const void *)base;
out:
    return ret;
}

int ahasd_sweep(const ahasd_config *base, size_t n_points, size_t n_params,
                const int *param_ids, const double *values, size_t n_out,
                const int *out_ids, int simulate, uint64_t seed, int n_runs,
                double *out, int *status, ahasd_workspace *ws, ahasd_error *err)
{
    int ret = AHASD_OK, code;
    size_t i, p, o;
    ahasd_config cfg;
    ahasd_result res;
    ahasd_error perr;
    ahasd_sim_options opt;

    if (base == NULL || ws == NULL || status == NULL || (n_out > 0 && (out == NULL || out_ids == NULL)) ||
        (n_params > 0 && (param_ids == NULL || values == NULL))) {
        ret = err_set(err, AHASD_ERR_NULL, "ahasd_sweep: a required array is NULL");
        goto out;
    }
    /* values[] has n_params x n_points entries and out[] n_points x n_out:
     * sizes whose product overflows cannot describe real arrays. */
    if ((n_params > 0 && n_points > SIZE_MAX / n_params / sizeof(double)) ||
        (n_out > 0 && n_points > SIZE_MAX / n_out / sizeof(double)) ||
        n_points > SIZE_MAX / sizeof(int)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "ahasd_sweep: n_points = %zu with n_params = %zu and n_out = %zu is not "
                      "allowed: the array sizes overflow", n_points, n_params, n_out);
        goto out;
    }
    for (p = 0; p < n_params; p++)
        if (param_ids[p] < 0 || param_ids[p] > PARAM_ALPHA) {
            ret = err_set(err, AHASD_ERR_UNKNOWN, "sweep parameter %zu has unknown id %d", p,
                          param_ids[p]);
            goto out;
        }
    for (o = 0; o < n_out; o++)
        if (out_ids[o] < 0 || out_ids[o] >= AHASD_N_OUT) {
            ret = err_set(err, AHASD_ERR_UNKNOWN, "sweep output %zu has unknown id %d", o,
                          out_ids[o]);
            goto out;
        }
    if (simulate && (n_runs < 1 || n_runs > 1000000)) {
        ret = err_set(err, AHASD_ERR_BAD_PARAM,
                      "n_runs = %d is not allowed: must be an integer in [1, 1000000]", n_runs);
        goto out;
    }
    for (i = 0; i < n_points; i++) {
        cfg = *base;
        code = AHASD_OK;
        for (p = 0; p < n_params && code == AHASD_OK; p++)
            code = ahasd_param_set(&cfg, param_ids[p], values[p * n_points + i], &perr);
        if (code == AHASD_OK) {
            if (simulate) {
                memset(&opt, 0, sizeof opt);
                opt.seed = seed + i;
                opt.n_runs = n_runs;
                code = ahasd_simulate(&cfg, &opt, ws, &res, &perr);
            } else {
                code = ahasd_estimate(&cfg, ws, &res, &perr);
            }
        }
        status[i] = code;
        for (o = 0; o < n_out; o++)
            out[i * n_out + o] = code == AHASD_OK ? res.out[out_ids[o]] : NAN;
    }
out:
    return ret;
}
