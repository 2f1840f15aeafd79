/*
 * fixture.h -- configurations shared by the C unit tests: C mirrors of the
 * presets in data/hardware and data/models (so a test needs no TOML), the
 * explicit-cost design point, and a two-regime entropy profile.  Every
 * function fills its whole output (unset fields 0, or the library defaults
 * for an ahasd_config); a test changes what it needs afterwards.
 */
#ifndef AHASD_TEST_FIXTURE_H
#define AHASD_TEST_FIXTURE_H

#include "ahasd.h"

/* The mobile NPU of data/hardware/ahasd-npu-pim (and npu-lpddr5), present. */
void fixture_device_npu(ahasd_device *v);

/* The LPDDR5-PIM of data/hardware/ahasd-npu-pim, present; aau = 0 removes
 * its Attention Algorithm Unit (nonlinear ops then go to the host). */
void fixture_device_pim(ahasd_device *v, int aau);

/* data/hardware/npu-lpddr5: the NPU alone on 64 GiB of LPDDR5, drafting
 * and verifying (no contention). */
void fixture_hardware_npu(ahasd_hardware *hw);

/* data/hardware/ahasd-npu-pim: npu-lpddr5 plus the PIM, which drafts;
 * contention 0.1 as the preset.  aau as in fixture_device_pim. */
void fixture_hardware_ahasd(ahasd_hardware *hw, int aau);

/* A LLaMA-2-shaped model (gated SiLU FFN, RMSNorm, heads of 128, vocabulary
 * 32000, untied embeddings, INT8 weights, KV cache and activations). */
ahasd_model fixture_model_llama2(int layers, int hidden, int ffn);

/* data/models/llama2-7b and llama2-13b. */
ahasd_model fixture_model_llama2_7b(void);
ahasd_model fixture_model_llama2_13b(void);

/* data/models/opt-1.3b: plain ReLU FFN, LayerNorm, tied embeddings, INT8. */
ahasd_model fixture_model_opt_1_3b(void);

/* The library defaults with schedule `sched` on fixture_hardware_ahasd
 * (with the AAU), LLaMA2-7B drafting for LLaMA2-13B, and an i.i.d. profile
 * of acceptance 0.75. */
void fixture_config_ahasd(ahasd_config *cfg, int sched);

/* The library defaults with schedule `sched`, the explicit task costs
 * `costs` (use_explicit_costs = 1), the fixed policy of draft length k and
 * an i.i.d. profile of acceptance alpha. */
void fixture_config_explicit(ahasd_config *cfg, int sched, const ahasd_explicit_costs *costs,
                             int k, double alpha);

/* Two entropy regimes: bucket 0 (low entropy, accepted 0.95) and bucket 1
 * (high entropy, accepted 0.3); each stays in its regime with probability
 * `stay`; acceptance decays by 0.98 per position; calibrated predictor. */
void fixture_profile_regimes(ahasd_profile *p, double stay);

#endif
