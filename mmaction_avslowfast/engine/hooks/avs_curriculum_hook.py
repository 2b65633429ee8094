import logging

from mmaction.registry import HOOKS
from mmengine.logging import print_log

from .model_access import BackboneHook


@HOOKS.register_module()
class AVSCurriculumHook(BackboneHook):
    """Drives the AVS negative curriculum of an AVSlowFast backbone.

    Used through ``custom_hooks = [..., dict(type='AVSCurriculumHook')]``.
    Before every training epoch it calls ``backbone.set_epoch(runner.epoch)``
    (0-based; a resumed run restores ``runner.epoch``), so the backbone's
    ``avs_curriculum`` draws easy negatives (another sample's audio) before
    ``mix_neg_epoch`` and mixes in hard ones (the same video, shifted) from
    then on. It logs the epoch's nominal easy-negative share once per epoch
    at INFO and as ``avs_easy_neg_share`` through the message hub (printed
    with the losses). A backbone without AVS stages is left alone after
    one INFO line. DropPathway is ``DropPathwayHook``'s.
    """

    required = ('set_epoch', 'avs_curriculum', 'avs_stages')
    unsupported = 'backbones without the AVS curriculum'


    def before_train(self, runner) -> None:
        # Fail at start, not after data loading.
        backbone = self.backbone_of(runner)
        if not any(backbone.avs_stages):
            print_log(
                'AVSCurriculumHook: the backbone has no AVS stage; no '
                'negative curriculum to schedule.',
                logger='current',
                level=logging.INFO)

    def before_train_epoch(self, runner) -> None:
        backbone = self.backbone_of(runner)
        if not any(backbone.avs_stages):
            return
        backbone.set_epoch(runner.epoch)
        curriculum = backbone.avs_curriculum
        share = curriculum.easy_share(runner.epoch)
        runner.message_hub.update_scalar('train/avs_easy_neg_share', share)
        print_log(
            f'AVSCurriculumHook: epoch {runner.epoch + 1}: {share:.0%} easy '
            f'AVS negatives, {1 - share:.0%} hard (from epoch '
            f'{curriculum.mix_neg_epoch + 1} on: '
            f'{curriculum.easy_neg_ratio:.0%} easy).',
            logger='current',
            level=logging.INFO)
