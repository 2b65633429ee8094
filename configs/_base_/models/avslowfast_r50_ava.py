# Spatio-temporal action detection on AVA with the R50 4x16 backbone: res5
# keeps stride 16 (as MMAction2's SlowFast AVA detectors), no AVS; Slow + Fast
# RoI features plus the globally pooled audio feature per RoI. No mmdet and
# no compiled mmcv ops: RoIAlign is torchvision's unless mmcv.ops imports.
_base_ = './avslowfast_r50_4x16.py'

model = dict(
    _delete_=True,
    type='AVSlowFastDetector',
    backbone=dict(
        _base_.model.backbone,
        slow_pathway=dict(
            _base_.model.backbone.slow_pathway, spatial_strides=(1, 2, 2, 1)),
        fast_pathway=dict(
            _base_.model.backbone.fast_pathway, spatial_strides=(1, 2, 2, 1)),
        # AVS is a pre-training objective: no negatives in AVA fine-tuning.
        avs_stages=(False, False, False, False, False)),
    roi_head=dict(
        type='AVRoIHead',
        bbox_roi_extractor=dict(
            type='AVRoIExtractor3D',
            featmap_stride=16,
            output_size=8,
            with_temporal_pool=True,
            roi_align_backend='auto'),
        bbox_head=dict(
            type='AVBBoxHead',
            in_channels=2048 + 256,  # Slow + Fast RoI features
            audio_channels=1024,  # pooled Audio res5, joined to every RoI
            num_classes=81,
            background_class=True,
            multilabel=True,
            dropout_ratio=0.5),
        visual_indices=(0, 1),
        audio_index=2),
    data_preprocessor=_base_.model.data_preprocessor,
    train_cfg=dict(
        rcnn=dict(
            assigner=dict(
                type='AVAMaxIoUAssigner',
                pos_iou_thr=0.9,
                neg_iou_thr=0.9,
                min_pos_iou=0.9),
            sampler=dict(
                type='AVARandomSampler',
                num=32,
                pos_fraction=1,
                neg_pos_ub=-1,
                add_gt_as_proposals=True))))
