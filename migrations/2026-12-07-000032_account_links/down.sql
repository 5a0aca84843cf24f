DELETE FROM invitations WHERE purpose <> 'invite';
ALTER TABLE invitations
    DROP CONSTRAINT invitations_invite_has_inviter,
    ALTER COLUMN invited_by SET NOT NULL,
    DROP COLUMN purpose;
