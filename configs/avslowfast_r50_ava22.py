# AVSlowFast R50 4x16 spatio-temporal action detection on AVA v2.2.
#
# No mmdet and no compiled mmcv ops: detector, RoI head, assigner/sampler and
# RoIAlign come from mmaction_avslowfast (RoIAlign = torchvision.ops.roi_align
# unless mmcv.ops imports). Data: MMAction2's AVA layout plus the audio of the
# 15-min cuts:
#
#   data/ava/rawframes/<video_id>/img_00001.jpg ...  (tools/data/ava of
#                                                      MMAction2, 30 fps)
#   data/ava/videos_15min/<video_id>.{mp4,mkv,webm}  (cut_videos.sh output,
#                                                      with audio)
#   data/ava/logmel_15min/<video_id>.npy + index.jsonl
#       python tools/extract_logmel.py data/ava/videos_15min \
#           data/ava/logmel_15min --num-workers 8 --float16
#   data/ava/annotations/{ava_train_v2.2.csv, ava_val_v2.2.csv,
#       ava_{train,val}_excluded_timestamps_v2.2.csv,
#       ava_action_list_v2.2_for_activitynet_2019.pbtxt (60 classes),
#       ava_dense_proposals_{train,val}.FAIR.recall_93.9.pkl}
#
# The visual pathways (and, from an AVSlowFast checkpoint, the audio pathway
# and the A->FS laterals) start from a local Kinetics-400 checkpoint:
# this plugin's configs/avslowfast_r50_kinetics.py, or MMAction2's
# slowfast_r50_4x16x1 (only the Slow/Fast weights then load).
#
#   mim train mmaction configs/avslowfast_r50_ava22.py --launcher pytorch \
#       --gpus 8
#   mim test mmaction configs/avslowfast_r50_ava22.py --checkpoint CKPT
#
# Online audio instead of precomputed log-mel: replace LoadLogMel by
# dict(type='LoadAudioFromVideo') and set data_prefix audio=videos_15min
# (decodes a 15-min track per sample: slow).
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(
    imports=[
        'mmaction_avslowfast',
        'mmaction_avslowfast.datasets.ava_audio_dataset',
        'mmaction_avslowfast.models.detectors',
    ],
    allow_failed_imports=False)

kinetics_checkpoint = 'checkpoints/avslowfast_r50_4x16x1_kinetics400.pth'
clip_len = 32
audio_frames = 128

model = dict(
    type='AVSlowFastDetector',
    backbone=dict(
        type='AVSlowFast',
        pretrained=kinetics_checkpoint,
        resample_rate=8,
        speed_ratio=8,
        channel_ratio=8,
        clip_len=clip_len,
        audio_frames=audio_frames,
        # res5 keeps stride 16 (spatial_strides[3] = 1), as MMAction2's
        # SlowFast AVA detectors.
        slow_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=True,
            lateral_norm=True,
            conv1_kernel=(1, 7, 7),
            dilations=(1, 1, 1, 1),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=(0, 0, 1, 1),
            spatial_strides=(1, 2, 2, 1)),
        fast_pathway=dict(
            type='resnet3d',
            depth=50,
            pretrained=None,
            lateral=False,
            base_channels=8,
            conv1_kernel=(5, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            spatial_strides=(1, 2, 2, 1)),
        drop_pathway=0.8,
        # AVS is a pre-training objective; AVA fine-tuning gets no negatives.
        avs_stages=(False, False, False, False, False)),
    roi_head=dict(
        type='AVRoIHead',
        bbox_roi_extractor=dict(
            type='AVRoIExtractor3D',
            featmap_stride=16,
            output_size=8,
            with_temporal_pool=True,
            roi_align_backend='auto'),
        # Slow (2048) + Fast (256) RoI features; the audio pathway's globally
        # pooled res5 feature (1024) is concatenated to every RoI.
        bbox_head=dict(
            type='AVBBoxHead',
            in_channels=2304,
            audio_channels=1024,
            num_classes=81,
            background_class=True,
            multilabel=True,
            dropout_ratio=0.5),
        visual_indices=(0, 1),
        audio_index=2),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[114.75, 114.75, 114.75],
                std=[57.375, 57.375, 57.375],
                format_shape='NCTHW'),
            audios=dict(type='ActionDataPreprocessor'))),
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

dataset_type = 'AVAAudioDataset'
data_root = 'data/ava/rawframes'
logmel_root = 'data/ava/logmel_15min'
anno_root = 'data/ava/annotations'

ann_file_train = f'{anno_root}/ava_train_v2.2.csv'
ann_file_val = f'{anno_root}/ava_val_v2.2.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.2.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.2.csv'
label_file = f'{anno_root}/ava_action_list_v2.2_for_activitynet_2019.pbtxt'
proposal_file_train = (f'{anno_root}/ava_dense_proposals_train.FAIR.'
                       'recall_93.9.pkl')
proposal_file_val = f'{anno_root}/ava_dense_proposals_val.FAIR.recall_93.9.pkl'

# Boxes are mapped back through flip and crop at test time: keep both in the
# metainfo (PackActionInputs' default meta_keys drop them).
meta_keys = ('img_shape', 'img_key', 'video_id', 'timestamp', 'flip',
             'crop_quadruple')
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=clip_len, frame_interval=2),
    dict(type='CheckedRawFrameDecode', **file_client_args),
    dict(type='LoadLogMel', logmel_root=logmel_root,
         on_missing_audio='zeros'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=256),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs', meta_keys=meta_keys)
]
# Testing is without cropping / flipping (as MMAction2's AVA configs).
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=clip_len, frame_interval=2,
         test_mode=True),
    dict(type='CheckedRawFrameDecode', **file_client_args),
    dict(type='LoadLogMel', logmel_root=logmel_root,
         on_missing_audio='zeros'),
    dict(type='AudioLogMelClips', num_frames=audio_frames),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='AlignAudioViews'),
    dict(type='PackAVInputs', meta_keys=meta_keys)
]

train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,  # host-to-GPU copies overlap compute
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        exclude_file=exclude_file_train,
        pipeline=train_pipeline,
        label_file=label_file,
        proposal_file=proposal_file_train,
        data_prefix=dict(img=data_root, logmel=logmel_root)))
val_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,  # host-to-GPU copies overlap compute
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        exclude_file=exclude_file_val,
        pipeline=val_pipeline,
        label_file=label_file,
        proposal_file=proposal_file_val,
        data_prefix=dict(img=data_root, logmel=logmel_root),
        # Unreadable frames: listed in the log, the keyframe counted as missed.
        on_unreadable='miss',
        test_mode=True))
# As validation, but mim test stops at the first unreadable sample (naming
# it); --cfg-options test_dataloader.dataset.on_unreadable=miss finishes.
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'],
                                 on_unreadable='error'))

# AVAMetric semantics; robust to numpy 2 (np.NAN) and without Pool(32).
val_evaluator = dict(
    type='RobustAVAMetric',
    ann_file=ann_file_val,
    label_file=label_file,
    exclude_file=exclude_file_val,
    num_workers=8)
test_evaluator = val_evaluator

# Schedule of MMAction2's SlowFast R50 4x16 AVA detector
# (slowfast_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py).
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=20, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5),
    dict(
        type='MultiStepLR',
        begin=0,
        end=20,
        by_epoch=True,
        milestones=[10, 15],
        gamma=0.1)
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=0.00001),
    clip_grad=dict(max_norm=40, norm_type=2))

# base_batch_size = 8 GPUs x 16 clips.
auto_scale_lr = dict(enable=False, base_batch_size=128)

# One WARNING per unreadable sample or lost audio track, the per-epoch counts
# data/unreadable and data/no_audio, the files listed in the work dir, and a
# stop when over 5 % of an epoch's draws are unreadable.
custom_hooks = [
    dict(type='MediaIssuesHook', max_unreadable=0.05, min_samples=100)
]
